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
  /** The failover test after the rounds, when this system has one and it was asked for. */
  failover(): Promise<FailoverResult | null>;
  close(): Promise<void>;
}
