import type { LoadSummary } from './load/latency.ts';
import type { Workload } from './load/kv-client.ts';

export type SystemName = 'imdgo' | 'etcd' | 'etcd-disk' | 'redis';

/** Where the load is issued: on the leader, on a follower (so writes are forwarded), or Redis' one server. */
export type Target = 'leader' | 'follower' | 'single';

export interface RunSpec {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly on: Target;
}

export interface ResultRow extends RunSpec, LoadSummary {
  readonly system: SystemName;
  /** CPU time of every process serving the run (the client's too) per operation, in µs. */
  readonly cpuUsPerOp: number | null;
}

export interface FailoverResult {
  readonly system: SystemName;
  readonly concurrency: number;
  /** From the kill -9 to the first successful write issued after it, per round; null: none in time. */
  readonly samplesMs: readonly (number | null)[];
  /** From restarting the killed member to the cluster being healthy again, per round. */
  readonly rejoinMs: readonly number[];
  readonly medianMs: number | null;
  readonly maxMs: number | null;
}

export interface MemoryResult {
  readonly system: 'imdgo';
  readonly keys: number;
  readonly rawBytesPerKey: number;
  /** V8 heap growth per key after loading and a full GC. */
  readonly heapBytesPerKey: number;
  /** Heap plus ArrayBuffer backing stores (the log's encoded entries live there). */
  readonly totalBytesPerKey: number;
  readonly ratioToRaw: number;
  /** The same number of writes to one key: what the log alone costs per write. */
  readonly logBytesPerWrite: number | null;
}
