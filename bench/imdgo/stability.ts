import { loadavg } from 'node:os';
import { cpuTimes } from '../machine-load.ts';
import { ImdgoCluster } from './imdgo-cluster.ts';
import type { VitalsSample } from './protocol.ts';
import { VitalsReport } from './vitals-report.ts';

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
/** How often the nodes' vitals are collected for the run's peaks (each node keeps 30 s of them). */
const VITALS_EVERY_MS = 5_000;
/** The seconds before a leader change printed with it. */
const BEFORE_CHANGE_MS = 8_000;

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
    console.log(`  leader ${leader.name} ${leader.nodeId} in term ${firstTerm}`);
    const end = started + options.seconds * 1000;
    const firstLeader = `${firstTerm} ${leader.nodeId}`;
    const leaders = new Set([firstLeader]);
    const loads: number[] = [];
    const vitals = new VitalsReport(started);
    // Per node, the time of the last sample counted in the run's peaks.
    const counted = cluster.nodes.map(() => 0);
    const collect = async (since: number): Promise<VitalsSample[][]> => {
      const each = await Promise.all(
        cluster.nodes.map((node) => node.request({ kind: 'vitals', since }, STATUS_SLACK_MS)),
      );
      for (const [i, samples] of each.entries()) {
        vitals.add(
          cluster.nodes[i]!.name,
          samples.filter((sample) => sample.at > counted[i]!),
        );
        counted[i] = Math.max(counted[i]!, ...samples.map((sample) => sample.at));
      }
      return each;
    };
    let nextVitals = started + VITALS_EVERY_MS;
    let nextReport = started + 60_000;
    let minuteCpu = cpuTimes();
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      loads.push(loadavg()[0]!);
      // A node too busy to answer within the status timeout is no finding: the next poll asks again.
      const statuses = await cluster.statuses().catch(() => null);
      if (statuses === null) continue;
      let changed = false;
      for (const status of statuses) {
        const termLeader = `${status.term} ${status.leader}`;
        if (status.leader === null || leaders.has(termLeader)) continue;
        leaders.add(termLeader);
        changed = true;
        console.log(
          `  new leader at ${((Date.now() - started) / 1000).toFixed(1)} s: term ${termLeader}, ` +
            `load average ${loadavg()[0]!.toFixed(2)}`,
        );
      }
      if (changed) {
        const around = await collect(Date.now() - BEFORE_CHANGE_MS);
        for (const [i, samples] of around.entries()) {
          for (const line of vitals.seconds(`${cluster.nodes[i]!.name} ${cluster.nodes[i]!.nodeId}`, samples))
            console.log(line);
        }
      } else if (Date.now() >= nextVitals) {
        nextVitals = Date.now() + VITALS_EVERY_MS;
        await collect(Math.min(...counted) + 1);
      }
      if (Date.now() >= nextReport) {
        nextReport += 60_000;
        const term = Math.max(...statuses.map((s) => s.term));
        const cpu = cpuTimes();
        const steal =
          cpu && minuteCpu
            ? `, CPU stolen by the hypervisor ${((100 * (cpu.steal - minuteCpu.steal)) / (cpu.total - minuteCpu.total)).toFixed(1)}%`
            : '';
        minuteCpu = cpu;
        console.log(
          `  ${((Date.now() - started) / 1000).toFixed(0)} s: term ${term}, leader changes ${leaders.size - 1}, ` +
            `load average ${loadavg()[0]!.toFixed(2)}${steal}; ${vitals.brief()}`,
        );
      }
    }
    const { errors } = await leader.request({ kind: 'background-stop' }, STATUS_SLACK_MS);
    const elapsedS = (Date.now() - started) / 1000;
    await collect(Math.min(...counted) + 1);
    console.log('  vitals per node over the run:');
    for (const line of vitals.summary()) console.log(line);
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
