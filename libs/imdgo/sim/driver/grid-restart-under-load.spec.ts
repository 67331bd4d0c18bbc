import { describe, expect, it } from 'vitest';
import type { GridNodeOptions } from '../../src/grid/grid-types.ts';
import { coordinated, PlacedGrid } from './placed-grid.ts';
import { steadyWrites } from './steady-writes.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];
const PARTITIONS = 4;

describe('memory-mode restarts (kill -9) one after another, under a steady stream of writes', () => {
  // A write through the restarted node is redirected with the table before its coordination replica caught
  // up: that table alone must not seat the new process in its predecessor's place.
  it('hosts nothing before the grid knows the new process, then is seated again as a voter everywhere', async () => {
    const grid = new PlacedGrid({ members: MEMBERS, partitions: PARTITIONS, replicas: 3, seed: 505 });
    const { cluster } = grid;
    for (const id of MEMBERS) grid.start(id);
    const incarnationOf = (id: string): string =>
      (cluster.node(id) as unknown as { options: GridNodeOptions }).options.incarnation;
    /** The table seats this process of `id` as a voter everywhere, and so does every partition's group. */
    const seatedEverywhere = (id: string): boolean =>
      cluster.alive().some((via) => {
        const node = cluster.node(via);
        if (!coordinated(node) || !coordinated(cluster.node(id))) return false;
        if (!cluster.node(id).coordination.isSeatedVoter()) return false;
        const meta = node.coordination.machine.grid;
        const me = meta.member(id);
        if (me?.incarnation !== incarnationOf(id) || me.staleReplicas || meta.table === null) return false;
        return meta.table.partitions.every(
          (p, partition) =>
            p.voters.includes(id) &&
            p.learners.length === 0 &&
            cluster
              .node(id)
              .replica(partition)
              ?.localStatus()
              .members.some((m) => m.id === id && m.voter) === true,
        );
      });
    await cluster.runUntil(() => MEMBERS.every(seatedEverywhere), 'formed');

    const stopWriting = steadyWrites(cluster, 2);

    const problems = new Set<string>();
    for (const restarted of ['b:1', 'c:1']) {
      grid.crash(restarted);
      await cluster.runFor(2_000);
      grid.start(restarted);
      const node = cluster.node(restarted);
      await cluster.runUntil(
        () => {
          // Its predecessor's seats are not its own: it hosts only once its metadata knows it as itself.
          for (let p = 0; p < PARTITIONS; p++) {
            if (!node.replica(p)) continue;
            const me = coordinated(node) ? node.coordination.machine.grid.member(restarted) : undefined;
            if (me?.incarnation !== incarnationOf(restarted) || me.staleReplicas)
              problems.add(`${restarted} hosts partition ${p} before the grid knows it as this process`);
          }
          return seatedEverywhere(restarted);
        },
        `${restarted} seated again`,
        60_000,
      );
    }
    stopWriting();
    expect([...problems]).toEqual([]);
    expect(MEMBERS.every(seatedEverywhere)).toBe(true);
  }, 300_000);
});
