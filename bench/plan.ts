import type { RunSpec, SystemName, Target } from './results.ts';

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
 * one member without a quorum round, run at the highest concurrency. The mix runs at that concurrency too.
 * `replicaTargets` narrows where writes, reads and the mix are issued; local reads always run on a follower.
 */
export function planRuns(
  system: SystemName,
  groups: readonly WorkloadGroup[],
  concurrencies: readonly number[],
  replicaTargets: readonly Target[] = ['leader', 'follower'],
): RunSpec[] {
  const targets: readonly Target[] = system === 'redis' ? ['single'] : replicaTargets;
  const top = Math.max(...concurrencies);
  const runs: RunSpec[] = [];
  for (const group of groups) {
    if (group === 'write' || group === 'read') {
      for (const concurrency of concurrencies) {
        for (const on of targets) runs.push({ workload: group, concurrency, on });
      }
    } else if (group === 'mix') {
      for (const on of targets) runs.push({ workload: 'mix', concurrency: top, on });
    } else if (group === 'local') {
      if (system === 'imdgo') {
        runs.push({ workload: 'local-peek', concurrency: 1, on: 'follower' });
        runs.push({ workload: 'local-get', concurrency: 1, on: 'follower' });
      } else if (system !== 'redis') {
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
