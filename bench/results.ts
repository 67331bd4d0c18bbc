import type { LoadSummary } from './load/latency.ts';
import type { Workload } from './load/kv-client.ts';
import type { CpuPerOp } from './load/cpu.ts';

export type SystemName = 'imdgo' | 'etcd' | 'etcd-disk' | 'redis';

/** Where the load is issued: on the leader, on a follower (so writes are forwarded), or Redis' one server. */
export type Target = 'leader' | 'follower' | 'single';

export interface RunSpec {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly on: Target;
  /** Open loop at this fixed arrival rate (ops/s); absent: closed loop. */
  readonly arrivalPerSec?: number;
}

/**
 * `app`: the calls a Nest app makes (imdgo's ImdgoStore in the app process, etcd3 or ioredis from the
 * orchestrator). `wire`: one external load-generator process over HTTP, so neither side is a function call.
 */
export type Mode = 'app' | 'wire';

export interface ResultRow extends RunSpec, LoadSummary, CpuPerOp {
  readonly system: SystemName;
  readonly mode: Mode;
  /** Writes reach a file with fsync before they are acknowledged (imdgo with dataDir, etcd). */
  readonly durable: boolean;
  /** Which of the interleaved rounds (1-based) this measurement is. */
  readonly round: number;
}

/** How the leader fails: kill -9 (its connections close at once) or SIGSTOP (silent, nothing closes). */
export type FaultKind = 'kill' | 'stop' | 'cut';

export interface FailoverResult {
  readonly system: SystemName;
  readonly fault: FaultKind;
  readonly concurrency: number;
  /** From the fault to the first successful write (any writer) issued after it, per round; null: none. */
  readonly samplesMs: readonly (number | null)[];
  /** From the fault until every writer has had a successful write issued after it, per round. */
  readonly allWritersMs: readonly (number | null)[];
  /** From restarting (kill) or resuming (stop) the member to the cluster being healthy again, per round. */
  readonly rejoinMs: readonly number[];
  readonly medianMs: number | null;
  readonly maxMs: number | null;
  readonly allWritersMedianMs: number | null;
  readonly allWritersMaxMs: number | null;
}

/** One system's memory at `keys` distinct keys, loaded from empty. */
export interface MemoryResult {
  readonly system: 'imdgo' | 'etcd' | 'redis';
  readonly keys: number;
  /** Key plus value bytes of every key written. */
  readonly rawBytes: number;
  /** The process measured: a follower of a 3-node cluster, or Redis's single server. */
  readonly node: 'follower' | 'single';
  /** Resident memory of that process after the load. */
  readonly rssBytes: number;
  /** Its growth from before the load. */
  readonly rssGrowthBytes: number;
  /** Seconds the system then rested, no load and no forced collection, before `rssAtRestBytes`; 0: not read. */
  readonly restSeconds: number;
  /** Resident memory of the same process after that rest. */
  readonly rssAtRestBytes?: number;
  /** imdgo only, after full collections: V8 heap growth. */
  readonly heapGrowthBytes?: number;
  /** imdgo only: growth of memory owned by JS objects outside the heap (ArrayBuffers included). */
  readonly externalGrowthBytes?: number;
  readonly arrayBufferGrowthBytes?: number;
  /** imdgo only: (heap + external growth) / raw bytes. */
  readonly ratioToRaw?: number;
  /** imdgo only: the leader's RSS, which also ran the load. */
  readonly leaderRssBytes?: number;
  /** imdgo only: where the follower's RSS is, at the reading above. */
  readonly breakdown?: RssBreakdown;
  /**
   * imdgo only: the follower's RSS after the collection V8 runs only under memory pressure (it compacts the
   * heap and returns freed pages); not something a default run does.
   */
  readonly rssAfterReducingGcBytes?: number;
}

export interface RssBreakdown {
  readonly heapCommittedBytes: number;
  readonly heapUsedBytes: number;
  /** The young generation, within the committed heap. */
  readonly newSpaceBytes: number;
  /** Outside the heap, owned by JS objects (ArrayBuffers included). */
  readonly externalBytes: number;
  /** The C heap's main arena, resident: freed chunks it cannot return stay in it. */
  readonly mallocArenaBytes: number;
  /** Pages of the node binary (shared with other node processes). */
  readonly fileBackedBytes: number;
}
