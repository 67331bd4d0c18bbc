import { monotonicMs } from '../load/clock.ts';
import { withCpuPerOp } from '../load/cpu.ts';
import { measureFailovers, type FailoverRound, type FailoverTarget } from '../failover.ts';
import type { FaultKind, RunSpec } from '../results.ts';
import type { BenchSystem } from '../system.ts';
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
  readonly failoverFaults: readonly FaultKind[];
  readonly execArgv: readonly string[];
  /** Each node keeps its log under this directory (its own subdirectory); null: memory mode. */
  readonly dataDir: string | null;
  /** The nodes' tickMs, or null for the library's default. */
  readonly tickMs: number | null;
  readonly verbose: boolean;
}

/** Loading takes longer the more keys there are: 2 ms a key, at least 5 minutes. */
const preloadTimeoutMs = (keys: number): number => Math.max(300_000, 2 * keys);
/** Slack over a run's own length for the node to set up, drain and answer. */
const RUN_SLACK_MS = 30_000;
const HEALTHY_TIMEOUT_MS = 120_000;

/**
 * A 3-node cluster of bench processes: every run is issued inside the node it names (the app process).
 * Client CPU is that node's process (the app: the calls, plus its own share of replication, which one
 * process cannot split off), server CPU the two other nodes.
 */
export async function openImdgo(options: ImdgoSuiteOptions): Promise<BenchSystem> {
  const cluster = await ImdgoCluster.start({
    size: 3,
    keys: options.keys,
    valueBytes: options.valueBytes,
    execArgv: options.execArgv,
    dataDir: options.dataDir,
    faultInjection: options.failoverFaults.includes('cut'),
    tickMs: options.tickMs,
    verbose: options.verbose,
  });
  try {
    await (await cluster.leader()).request({ kind: 'preload' }, preloadTimeoutMs(options.keys));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const durable = options.dataDir !== null;
  return {
    system: 'imdgo',
    mode: 'app',
    durable,
    runs: options.runs,
    async run(spec, round) {
      const node = spec.on === 'leader' ? await cluster.leader() : await cluster.follower();
      const others = cluster.nodes.filter((other) => other !== node);
      const summary = await withCpuPerOp(
        { client: () => cluster.cpuUs([node]), server: () => cluster.cpuUs(others) },
        options.warmupMs,
        () =>
          node.request(
            { kind: 'run', ...spec, warmupMs: options.warmupMs, durationMs: options.durationMs },
            options.warmupMs + options.durationMs + RUN_SLACK_MS,
          ),
      );
      return { system: 'imdgo', mode: 'app', durable, round, ...spec, ...summary };
    },
    async failover() {
      const memory = (await cluster.statuses()).map((s) => `${(s.rssBytes / 2 ** 20).toFixed(0)} MiB`);
      console.log(`  imdgo nodes' resident memory after the runs: ${memory.join(', ')}`);
      return measureFailovers(
        failoverTarget(cluster),
        options.failoverRounds,
        options.failoverConcurrency,
        options.failoverFaults,
      );
    },
    close: () => cluster.stop(),
  };
}

function failoverTarget(cluster: ImdgoCluster): FailoverTarget {
  return {
    system: 'imdgo',
    waitHealthy: () => cluster.waitHealthy(HEALTHY_TIMEOUT_MS),
    async startRound(concurrency): Promise<FailoverRound> {
      const leader = await cluster.leader();
      const writer = await cluster.follower();
      await writer.request({ kind: 'background-start', concurrency }, RUN_SLACK_MS);
      let fault: FaultKind | null = null;
      return {
        async fault(kind) {
          fault = kind;
          if (kind === 'stop') return leader.signal('SIGSTOP');
          if (kind === 'kill') return leader.kill();
          const cutAt = monotonicMs();
          await cluster.cut(leader);
          return cutAt;
        },
        firstSuccessesAfter: (after, timeoutMs) =>
          writer.request({ kind: 'background-first-success', after, timeoutMs }, timeoutMs + RUN_SLACK_MS),
        stopLoad: async () => {
          await writer.request({ kind: 'background-stop' }, RUN_SLACK_MS);
        },
        recover: async () => {
          if (fault === 'stop') leader.signal('SIGCONT');
          else if (fault === 'cut') await cluster.heal();
          else await cluster.restart(leader);
        },
      };
    },
  };
}
