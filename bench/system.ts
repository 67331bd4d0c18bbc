import type { FailoverResult, Mode, ResultRow, RunSpec, SystemName } from './results.ts';

/**
 * One system under test, started once and kept running so that its rows can be interleaved with the other
 * systems' (imdgo, etcd, Redis, imdgo, ...): a slow minute on the shared machine then hits every system.
 */
export interface BenchSystem {
  readonly system: SystemName;
  readonly mode: Mode;
  readonly durable: boolean;
  /** The rows this system runs, in each round. */
  readonly runs: readonly RunSpec[];
  run(spec: RunSpec, round: number): Promise<ResultRow>;
  /** The failover tests after the rounds (one per fault asked for), when this system has them. */
  failover(): Promise<FailoverResult[]>;
  close(): Promise<void>;
}
