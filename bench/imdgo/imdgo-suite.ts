import { withCpuPerOp } from '../load/cpu.ts';
import { measureFailover, type FailoverRound, type FailoverTarget } from '../failover.ts';
import type { FailoverResult, ResultRow, RunSpec } from '../results.ts';
import { ImdgoCluster } from './imdgo-cluster.ts';

export interface ImdgoSuiteOptions {
  readonly runs: readonly RunSpec[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly keys: number;
  readonly valueBytes: number;
  /** 0: no failover test. */
  readonly failoverRounds: number;
  readonly failoverConcurrency: number;
  readonly execArgv: readonly string[];
  readonly verbose: boolean;
}

export interface ImdgoSuiteResult {
  readonly rows: ResultRow[];
  readonly failover: FailoverResult | null;
}

/** Loading takes longer the more keys there are: 2 ms a key, at least 5 minutes. */
const preloadTimeoutMs = (keys: number): number => Math.max(300_000, 2 * keys);
/** Slack over a run's own length for the node to set up, drain and answer. */
const RUN_SLACK_MS = 30_000;
const HEALTHY_TIMEOUT_MS = 120_000;

/** A 3-node cluster of bench processes: every run is issued inside the node it names, then failover. */
export async function runImdgoSuite(
  options: ImdgoSuiteOptions,
  onRow: (row: ResultRow) => void,
): Promise<ImdgoSuiteResult> {
  const cluster = await ImdgoCluster.start({
    size: 3,
    keys: options.keys,
    valueBytes: options.valueBytes,
    execArgv: options.execArgv,
    verbose: options.verbose,
  });
  try {
    await (await cluster.leader()).request({ kind: 'preload' }, preloadTimeoutMs(options.keys));
    const rows: ResultRow[] = [];
    for (const spec of options.runs) {
      const node = spec.on === 'leader' ? await cluster.leader() : await cluster.follower();
      const summary = await withCpuPerOp(
        () => cluster.cpuUs(),
        options.warmupMs,
        () =>
          node.request(
            { kind: 'run', ...spec, warmupMs: options.warmupMs, durationMs: options.durationMs },
            options.warmupMs + options.durationMs + RUN_SLACK_MS,
          ),
      );
      const row: ResultRow = { system: 'imdgo', ...spec, ...summary };
      rows.push(row);
      onRow(row);
    }
    const memory = (await cluster.statuses()).map((s) => `${(s.rssBytes / 2 ** 20).toFixed(0)} MiB`);
    console.log(`  imdgo nodes' resident memory after the runs: ${memory.join(', ')}`);
    const failover =
      options.failoverRounds > 0
        ? await measureFailover(failoverTarget(cluster), options.failoverRounds, options.failoverConcurrency)
        : null;
    return { rows, failover };
  } finally {
    await cluster.stop();
  }
}

function failoverTarget(cluster: ImdgoCluster): FailoverTarget {
  return {
    system: 'imdgo',
    waitHealthy: () => cluster.waitHealthy(HEALTHY_TIMEOUT_MS),
    async startRound(concurrency): Promise<FailoverRound> {
      const leader = await cluster.leader();
      const writer = await cluster.follower();
      await writer.request({ kind: 'background-start', concurrency }, RUN_SLACK_MS);
      return {
        killLeader: () => leader.kill(),
        firstSuccessAfter: (after, timeoutMs) =>
          writer.request({ kind: 'background-first-success', after, timeoutMs }, timeoutMs + RUN_SLACK_MS),
        stopLoad: async () => {
          await writer.request({ kind: 'background-stop' }, RUN_SLACK_MS);
        },
        restartKilled: async () => {
          await cluster.restart(leader);
        },
      };
    },
  };
}
