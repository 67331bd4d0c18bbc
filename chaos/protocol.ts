/** What the chaos orchestrator and a node process say to each other over IPC. */
import { IMDGO_FUNCTIONS } from '../libs/imdgo/src/checker/index.ts';

/** A node's command-line argument, as JSON. */
export interface NodeArgs {
  readonly nodeId: string;
  /** The members to probe when the node starts without state. */
  readonly members: readonly string[];
  /** Null in memory mode: a restarted node then rejoins as a new member. */
  readonly dataDir: string | null;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly requestTimeoutMs: number;
  readonly snapshotThreshold: number;
  readonly lockSessionTtlMs: number;
  /** ImdgoModule's `partitions`, always passed (the library's default is not one group). */
  readonly partitions: number;
}

/**
 * A deliberately broken node, only to show that the checks catch it (`--break`, passed to the node in
 * the environment variable BREAK_ENV): every read served from local memory as if linearizable, every
 * increment applied twice, the newest part of the write-ahead log lost whenever a node restarts, or a lock
 * that, once this node has held it, is "granted" again without being taken, with the last token it had.
 */
export const BREAKAGES = ['stale-reads', 'double-increment', 'lose-tail', 'stale-lock'] as const;
export type Breakage = (typeof BREAKAGES)[number];
export const BREAK_ENV = 'IMDGO_CHAOS_BREAK';

/**
 * One client operation, run through the node's ImdgoStore. Written values are unique integers; `ttlMs`
 * gives the write a time to live.
 */
export type ClientOp =
  | { readonly f: 'get'; readonly key: string }
  | { readonly f: 'set'; readonly key: string; readonly value: number; readonly ttlMs?: number }
  | { readonly f: 'delete'; readonly key: string }
  | {
      readonly f: 'cas';
      readonly key: string;
      readonly expected: number | null;
      readonly next: number;
      readonly ttlMs?: number;
    }
  | { readonly f: 'putIfAbsent'; readonly key: string; readonly value: number; readonly ttlMs?: number }
  | {
      readonly f: 'setIfVersion';
      readonly key: string;
      readonly version: number;
      readonly value: number;
      readonly ttlMs?: number;
    }
  | { readonly f: 'increment'; readonly key: string; readonly delta: number; readonly ttlMs?: number };

export type ClientFunction = ClientOp['f'];
/** The checker's functions: a client operation the checker could not read would be a history it rejects. */
export const CLIENT_FUNCTIONS: readonly ClientFunction[] = IMDGO_FUNCTIONS;

export type NodeRequest =
  | { readonly kind: 'op'; readonly op: ClientOp }
  | { readonly kind: 'status' }
  | { readonly kind: 'block'; readonly peers: readonly string[] }
  | { readonly kind: 'heal' }
  /** Sets the node's wall clock (Date.now, which is all the library reads of it) `offsetMs` from the real one. */
  | { readonly kind: 'clock'; readonly offsetMs: number }
  /** `cluster.removeMember(id, timeoutMs)`: with partitions, a drain that fails at its own bound. */
  | { readonly kind: 'remove-member'; readonly id: string; readonly timeoutMs: number }
  | { readonly kind: 'digest' }
  /** `store.lock(name)`: `lock()` when waitMs is null, else `tryLock({ waitMs })`. */
  | { readonly kind: 'lock-acquire'; readonly name: string; readonly waitMs: number | null }
  /** A write to the resource the lock protects, which refuses a token not above the one it holds. */
  | { readonly kind: 'lock-write'; readonly name: string; readonly token: number }
  | { readonly kind: 'lock-release'; readonly handle: number }
  | { readonly kind: 'stop' };

/** A granted lock (a handle for its release), or null when tryLock's wait ran out. */
export type LockGrant = { readonly handle: number; readonly token: number } | null;

/** Whether the fenced resource took the write, and the token it held before. */
export interface FencedWrite {
  readonly accepted: boolean;
  readonly stored: number;
}

/**
 * How an operation ended inside the node: what a get read (null and version 0 when absent), an
 * increment's new value, or whether a write applied and the key's value and version after it (a refused
 * conditional write says what it found instead; a delete that found nothing did not apply).
 */
export type OpResult =
  | { readonly read: number | null; readonly version: number }
  | { readonly applied: boolean; readonly current: number | null; readonly version?: number };

export interface NodeStatus {
  /** The app's readiness: a voter as this very process, caught up with a known leader. */
  readonly ready: boolean;
  readonly role: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Voters in this node's own configuration (a node that is still joining lists none, or not itself). */
  readonly voters: readonly string[];
  /** The other members this node knows of (on the leader: learners still catching up or waiting for promotion). */
  readonly others: readonly string[];
  /** With partitions: replicas per member in this node's placement table (voters of each partition); else null. */
  readonly replicasHeld: Readonly<Record<string, number>> | null;
  /**
   * Partitions whose voters in this node's table include it but that this process hosts no replica of:
   * listings of its previous incarnation after a restart without memory, until placement replaces them.
   */
  readonly unhostedReplicas: number;
}

/** Every entry of one Raft group as this node holds it, hashed, at one applied index. */
export interface StateDigest {
  /** `all` with one group; else `coordination` or `partition N`. */
  readonly group: string;
  readonly digest: string;
  readonly keys: number;
  readonly appliedIndex: number;
}

export interface NodeReplies {
  op: OpResult;
  status: NodeStatus;
  block: null;
  heal: null;
  clock: null;
  'remove-member': null;
  /** One per group this node holds a replica of. */
  digest: StateDigest[];
  'lock-acquire': LockGrant;
  'lock-write': FencedWrite;
  'lock-release': null;
  stop: null;
}

/** A failed request: the error's class name (e.g. RequestTimeoutError) and message. */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
}

export type NodeMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly id: number; readonly result: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly error: RemoteError };
