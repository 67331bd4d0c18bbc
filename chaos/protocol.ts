/** What the chaos orchestrator and a node process say to each other over IPC. */

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
  /** `local` only to show that the checks catch stale reads (--stale-reads). */
  readonly readConsistency: 'linearizable' | 'local';
}

/** One client operation, run through the node's ImdgoStore. Values are unique integers. */
export type ClientOp =
  | { readonly f: 'get'; readonly key: string }
  | { readonly f: 'set'; readonly key: string; readonly value: number }
  | { readonly f: 'cas'; readonly key: string; readonly expected: number | null; readonly next: number };

export type NodeRequest =
  | { readonly kind: 'op'; readonly op: ClientOp }
  | { readonly kind: 'status' }
  | { readonly kind: 'block'; readonly peers: readonly string[] }
  | { readonly kind: 'heal' }
  | { readonly kind: 'remove-member'; readonly id: string }
  | { readonly kind: 'digest' }
  | { readonly kind: 'stop' };

/**
 * How an operation ended inside the node: a get's value, or whether a write applied (a cas that found
 * another value did not, and says which value it found).
 */
export type OpResult =
  { readonly value: number | null } | { readonly applied: boolean; readonly current: number | null };

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
}

/** Every entry of the store as this node holds it, hashed, at one applied index. */
export interface StateDigest {
  readonly digest: string;
  readonly keys: number;
  readonly appliedIndex: number;
}

export interface NodeReplies {
  op: OpResult;
  status: NodeStatus;
  block: null;
  heal: null;
  'remove-member': null;
  digest: StateDigest;
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
