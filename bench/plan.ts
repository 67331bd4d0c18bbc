import type { Mode, RunSpec, SystemName, Target } from './results.ts';

export type WorkloadGroup = 'write' | 'read' | 'local' | 'mix' | 'memory' | 'failover';
export const WORKLOAD_GROUPS: readonly WorkloadGroup[] = [
  'write',
  'read',
  'local',
  'mix',
  'memory',
  'failover',
];

/**
 * The load runs of one system. imdgo and etcd are loaded on the leader and on a follower; Redis has one
 * server. Local reads exist only in imdgo (in-process); etcd's closest is a serializable read, answered by
 * one member without a quorum round; both run at the highest concurrency (and imdgo's in-process ones also
 * at 1, where they are fastest). The mix runs at that concurrency too.
 * `replicaTargets` narrows where writes, reads and the mix are issued; local reads always run on a follower.
 */
export function planRuns(
  system: SystemName,
  groups: readonly WorkloadGroup[],
  concurrencies: readonly number[],
  replicaTargets: readonly Target[] = ['leader', 'follower'],
  openLoopRate: number | null = null,
  mode: Mode = 'app',
): RunSpec[] {
  const targets: readonly Target[] = system === 'redis' ? ['single'] : replicaTargets;
  const top = Math.max(...concurrencies);
  const runs: RunSpec[] = [];
  for (const group of groups) {
    if (group === 'write' || group === 'read') {
      for (const concurrency of concurrencies) {
        for (const on of targets) runs.push({ workload: group, concurrency, on });
      }
      // The open-loop row: queueing delay at a fixed arrival rate, which the closed loop hides.
      if (group === 'write' && openLoopRate !== null) {
        runs.push({ workload: 'write', concurrency: top, on: targets[0]!, arrivalPerSec: openLoopRate });
      }
    } else if (group === 'mix') {
      for (const on of targets) runs.push({ workload: 'mix', concurrency: top, on });
    } else if (group === 'local') {
      if (system === 'imdgo' && mode === 'app') {
        runs.push({ workload: 'local-peek', concurrency: 1, on: 'follower' });
        runs.push({ workload: 'local-get', concurrency: 1, on: 'follower' });
      }
      // Local reads against etcd's serializable reads at the same concurrency.
      if (system !== 'redis') {
        runs.push({ workload: 'local-get', concurrency: top, on: 'follower' });
      }
    }
  }
  return runs;
}

/** The smoke run, for CI to call: writes on the leader and linearizable reads on a follower. */
export const SMOKE_RUNS: readonly RunSpec[] = [
  { workload: 'write', concurrency: 64, on: 'leader' },
  { workload: 'read', concurrency: 64, on: 'follower' },
];

/** One measurement of the interleaved schedule: which system, which run, which round. */
export interface Slot {
  readonly system: number;
  readonly spec: RunSpec;
  readonly round: number;
}

/**
 * Every system's runs, `rounds` times, interleaved: in each round, run by run, every system that has the
 * run in turn (imdgo, etcd, Redis, imdgo, ...), so a slow minute on a shared machine hits them all alike.
 */
export function interleave(runsOf: readonly (readonly RunSpec[])[], rounds: number): Slot[] {
  const order: string[] = [];
  for (const runs of runsOf)
    for (const spec of runs) if (!order.includes(keyOf(spec))) order.push(keyOf(spec));
  const slots: Slot[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const key of order) {
      runsOf.forEach((runs, system) => {
        for (const spec of runs) if (keyOf(spec) === key) slots.push({ system, spec, round });
      });
    }
  }
  return slots;
}

/** Rows that interleave: the same workload, concurrency, target and loop (Redis' one server counts as a leader). */
function keyOf(spec: RunSpec): string {
  return [
    spec.workload,
    spec.concurrency,
    spec.on === 'single' ? 'leader' : spec.on,
    spec.arrivalPerSec,
  ].join('|');
}
