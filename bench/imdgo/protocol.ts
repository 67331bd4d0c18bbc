import type { LoadSummary } from '../load/latency.ts';
import type { Workload } from '../load/kv-client.ts';

/** What the orchestrator asks a bench node process over IPC; each request carries an id for its reply. */
export type NodeRequest =
  | { readonly kind: 'status' }
  | { readonly kind: 'cpu' }
  | { readonly kind: 'preload' }
  | {
      readonly kind: 'run';
      readonly workload: Workload;
      readonly concurrency: number;
      /** Open loop at this fixed rate (ops/s); absent: closed loop. */
      readonly arrivalPerSec?: number;
      readonly warmupMs: number;
      readonly durationMs: number;
    }
  | { readonly kind: 'background-start'; readonly concurrency: number }
  | { readonly kind: 'background-first-success'; readonly after: number; readonly timeoutMs: number }
  | { readonly kind: 'background-stop' }
  /** Drops all traffic with these peers, both ways, without closing a connection (faultInjection). */
  | { readonly kind: 'block'; readonly peers: readonly string[] }
  | { readonly kind: 'heal' }
  /** Writes `count` distinct keys (the dataset's names for that many keys), `concurrency` at a time. */
  | {
      readonly kind: 'fill';
      readonly count: number;
      readonly valueBytes: number;
      readonly concurrency: number;
    }
  /**
   * Memory after full collections (the process must run with --expose-gc); `reduce`: after the collection V8
   * runs only under memory pressure, which also compacts the heap and returns freed pages to the system.
   */
  | { readonly kind: 'memory'; readonly reduce?: boolean }
  /** The node's vitals samples taken at or after `since` (Date.now() ms). */
  | { readonly kind: 'vitals'; readonly since: number }
  | { readonly kind: 'stop' };

/** The answer to each kind of request. */
export interface NodeReplies {
  status: NodeStatus;
  /** User + system CPU time of the process so far, in µs. */
  cpu: number;
  preload: null;
  run: LoadSummary;
  'background-start': null;
  /** Per writer: when its first write issued after `after` succeeded, or null. */
  'background-first-success': (number | null)[];
  'background-stop': { errors: number };
  block: null;
  heal: null;
  fill: null;
  memory: NodeMemory;
  vitals: VitalsSample[];
  stop: null;
}

export interface NodeMemory {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Memory outside the V8 heap that JS objects own (ArrayBuffers included). */
  readonly externalBytes: number;
  readonly arrayBufferBytes: number;
  /** V8's heap as committed (heapTotal), live or not. */
  readonly heapCommittedBytes: number;
  /** Of which the young generation (semi-spaces), which V8 grows under load. */
  readonly newSpaceBytes: number;
  /** Resident in the C heap's main arena (glibc's brk heap): ArrayBuffer stores, V8's and Node's own, freed or not. */
  readonly mallocArenaBytes: number;
  /** Resident from files (the node binary's code, shared with other node processes). */
  readonly fileBackedBytes: number;
}

export interface NodeStatus {
  readonly role: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** The voters in this node's configuration: a restarted node counts once promoted from learner. */
  readonly voters: readonly string[];
  /** The process's resident memory, to show what the runs left behind. */
  readonly rssBytes: number;
}

/** One 100 ms sample of a bench node's process; maxima, counts and totals cover the 100 ms before `at`. */
export interface VitalsSample {
  /** Date.now() when taken. */
  readonly at: number;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly lastIndex: number;
  readonly appliedIndex: number;
  /** Follower: ms since it heard from its leader; leader: from its least recently heard follower. */
  readonly leaderContactMs: number | null;
  readonly loopDelayMaxMs: number;
  readonly gcCount: number;
  readonly gcMaxMs: number;
  /** The longest pause's kind: minor, major, incremental (marking steps) or weak callbacks. */
  readonly gcMaxKind: string;
  readonly gcTotalMs: number;
  /**
   * CPU time the process used since the previous sample (all its threads): beside a long event-loop delay,
   * near the delay means a long turn of work, far below it a process the machine did not run.
   */
  readonly cpuMs: number;
  readonly heapUsedMB: number;
  /** Heap used after the latest major GC: the live heap, without the garbage heapUsedMB includes. */
  readonly liveHeapMB: number;
  readonly peerSockets: number;
  /** The largest peer socket's write queue (writableLength). */
  readonly peerBufferedMaxBytes: number;
}

export type NodeMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: string };

/** Command-line arguments of a bench node process. */
export interface NodeArgs {
  readonly nodeId: string;
  readonly members: readonly string[];
  readonly keys: number;
  readonly valueBytes: number;
  /** ImdgoModule's dataDir (the log and snapshots on disk), or null: memory mode. */
  readonly dataDir: string | null;
  /** ImdgoModule's faultInjection: links can be cut (the `cut` failover fault). */
  readonly faultInjection: boolean;
  /** ImdgoModule's tickMs, or null for its default. */
  readonly tickMs: number | null;
}
