import { describe, expect, it } from 'vitest';
import type { GridNodeOptions } from '../../src/grid/grid-types.ts';
import { coordinated, PlacedGrid } from './placed-grid.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];
const PARTITIONS = 6;

describe('a member restarted in memory mode', () => {
  it('hosts none of its predecessor’s seats, and the quiet groups its predecessor led elect at once', async () => {
    const grid = new PlacedGrid({ members: MEMBERS, partitions: PARTITIONS, replicas: 3, seed: 51 });
    const { cluster } = grid;
    for (const id of MEMBERS) grid.start(id);
    const recorded = () =>
      coordinated(cluster.node('a:1')) ? cluster.node('a:1').coordination.machine.grid.table : null;
    await cluster.runUntil(
      () => recorded() !== null && cluster.everyPartitionLed(),
      'formed and every partition led',
    );
    // Idle long enough for the partitions to go quiet.
    await cluster.runFor(10_000);
    const restarted = MEMBERS.find(
      (id) => id !== 'a:1' && recorded()!.partitions.some((_, p) => cluster.node(id).replica(p)?.isLeader()),
    )!;
    const led = recorded()!.partitions.flatMap((_, p) =>
      cluster.node(restarted).replica(p)?.isLeader() ? [p] : [],
    );
    cluster.crash(restarted);
    const node = grid.start(restarted);
    const { incarnation } = (node as unknown as { options: GridNodeOptions }).options;

    const problems: string[] = [];
    const restartedAt = cluster.time.now;
    const elected = new Map<number, number>();
    await cluster.runUntil(
      () => {
        for (let p = 0; p < PARTITIONS && coordinated(node); p++) {
          if (!node.replica(p)) continue;
          const me = node.coordination.machine.grid.member(restarted);
          if (me?.incarnation !== incarnation || me.staleReplicas)
            problems.push(
              `${restarted} hosts partition ${p} while the grid knows its replicas as another process's`,
            );
        }
        for (const p of led) {
          if (elected.has(p)) continue;
          const leader = cluster
            .alive()
            .find((id) => id !== restarted && cluster.node(id).replica(p)?.isLeader());
          if (leader) elected.set(p, cluster.time.now - restartedAt);
        }
        return elected.size === led.length;
      },
      `the groups ${restarted} led elect`,
      60_000,
    );
    expect(problems.slice(0, 3)).toEqual([]);
    // Woken by the new incarnation's record, not by placement giving up on a move (moveTimeoutMs, 20 s).
    expect(Math.max(...elected.values())).toBeLessThan(10_000);
  }, 120_000);
});
