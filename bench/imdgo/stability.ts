import { loadavg } from 'node:os';
import { ImdgoCluster } from './imdgo-cluster.ts';

export interface StabilityOptions {
  readonly seconds: number;
  readonly concurrency: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly execArgv: readonly string[];
  readonly dataDir: string | null;
  readonly tickMs: number | null;
  readonly verbose: boolean;
}

export interface StabilityResult {
  readonly seconds: number;
  readonly concurrency: number;
  /** Leaders seen after the first, counting a leader again in each term it won. */
  readonly leaderChanges: number;
  /** Terms started during the run (every election, won or not, starts one). */
  readonly termsStarted: number;
  /** Log entries committed per second: one per write, besides the rare no-op or expiry. */
  readonly entriesPerSec: number;
  readonly failedWrites: number;
  /** The 1-minute load average, sampled with every poll: lowest, mean, highest. */
  readonly loadAverage: { readonly min: number; readonly mean: number; readonly max: number };
}

const POLL_MS = 250;
const STATUS_SLACK_MS = 30_000;

/**
 * `--stability S`: S seconds of closed-loop writes at full concurrency on the leader of a 3-node cluster,
 * with no fault. Counts leader changes and new terms, which must both be zero: a shorter election timeout
 * must not buy failover speed with spurious elections.
 */
export async function measureStability(options: StabilityOptions): Promise<StabilityResult> {
  const cluster = await ImdgoCluster.start({ size: 3, ...options, faultInjection: false });
  try {
    const leader = await cluster.leader();
    const before = await cluster.statuses();
    const firstTerm = Math.max(...before.map((s) => s.term));
    const firstCommit = Math.max(...before.map((s) => s.commitIndex));
    await leader.request({ kind: 'background-start', concurrency: options.concurrency }, STATUS_SLACK_MS);
    const started = Date.now();
    const end = started + options.seconds * 1000;
    const firstLeader = `${firstTerm} ${leader.nodeId}`;
    const leaders = new Set([firstLeader]);
    const loads: number[] = [];
    let nextReport = started + 60_000;
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      loads.push(loadavg()[0]!);
      // A node too busy to answer within the status timeout is no finding: the next poll asks again.
      const statuses = await cluster.statuses().catch(() => null);
      if (statuses === null) continue;
      for (const status of statuses) {
        const termLeader = `${status.term} ${status.leader}`;
        if (status.leader === null || leaders.has(termLeader)) continue;
        leaders.add(termLeader);
        console.log(
          `  new leader at ${((Date.now() - started) / 1000).toFixed(1)} s: term ${termLeader}, ` +
            `load average ${loadavg()[0]!.toFixed(2)}`,
        );
      }
      if (Date.now() >= nextReport) {
        nextReport += 60_000;
        const term = Math.max(...statuses.map((s) => s.term));
        console.log(
          `  ${((Date.now() - started) / 1000).toFixed(0)} s: term ${term}, leader changes ${leaders.size - 1}, ` +
            `load average ${loadavg()[0]!.toFixed(2)}`,
        );
      }
    }
    const { errors } = await leader.request({ kind: 'background-stop' }, STATUS_SLACK_MS);
    const elapsedS = (Date.now() - started) / 1000;
    const after = await cluster.statuses();
    return {
      seconds: options.seconds,
      concurrency: options.concurrency,
      leaderChanges: leaders.size - 1,
      termsStarted: Math.max(...after.map((s) => s.term)) - firstTerm,
      entriesPerSec: (Math.max(...after.map((s) => s.commitIndex)) - firstCommit) / elapsedS,
      failedWrites: errors,
      loadAverage: {
        min: Math.min(...loads),
        mean: loads.reduce((a, b) => a + b, 0) / loads.length,
        max: Math.max(...loads),
      },
    };
  } finally {
    await cluster.stop();
  }
}
