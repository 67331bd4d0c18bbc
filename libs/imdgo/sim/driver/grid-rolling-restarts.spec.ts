import { describe, expect, it } from 'vitest';
import type { GridNodeOptions } from '../../src/grid/grid-types.ts';
import { gridNotReadyReason } from '../../src/nest/readiness.ts';
import { SeededRandom } from '../../src/raft/random.ts';
import { coordinated, PlacedGrid, PLACEMENT_TIMING } from './placed-grid.ts';
import { steadyWrites } from './steady-writes.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];
const PARTITIONS = 4;
const RESTARTS = 6;
/** Seeds that stalled or re-seated slowly before the fixes; SIM_ROLLING_SEEDS=N runs seeds 1..N instead. */
const SEEDS = process.env.SIM_ROLLING_SEEDS
  ? Array.from({ length: Number(process.env.SIM_ROLLING_SEEDS) }, (_, i) => i + 1)
  : [2, 9, 11];
/**
 * A restarted member is ready well within one move timeout: one whose re-seat waits for a stalled move to
 * time out, or for a group of two voters (one of them dead) that never elects, is not.
 */
const READY_BOUND_MS = PLACEMENT_TIMING.moveTimeoutMs / 2;

describe('memory-mode restarts of leaders and followers, each as soon as the one before is ready', () => {
  it.each(SEEDS)(
    'seed %i: each restarted member is ready within the bound, seated everywhere',
    async (seed) => {
      const grid = new PlacedGrid({ members: MEMBERS, partitions: PARTITIONS, replicas: 3, seed });
      const { cluster } = grid;
      const random = new SeededRandom(seed * 7919);
      for (const id of MEMBERS) grid.start(id);
      const incarnationOf = (id: string): string =>
        (cluster.node(id) as unknown as { options: GridNodeOptions }).options.incarnation;
      /** This process of `id` is a voter of the coordination group and of every partition, as it sees them. */
      const seatedEverywhere = (id: string): boolean => {
        const node = cluster.node(id);
        if (!coordinated(node) || !node.coordination.isSeatedVoter()) return false;
        const meta = node.coordination.machine.grid;
        const me = meta.member(id);
        if (me?.incarnation !== incarnationOf(id) || me.staleReplicas || meta.table === null) return false;
        return meta.table.partitions.every(
          (p, partition) =>
            p.voters.includes(id) &&
            node
              .replica(partition)
              ?.localStatus()
              .members.some((m) => m.id === id && m.voter) === true,
        );
      };
      /** Production readiness (what `store.ready()` and the health indicator ask), on virtual time. */
      const ready = async (id: string, what: string): Promise<void> => {
        const deadline = cluster.time.now + 120_000;
        for (;;) {
          const node = cluster.node(id);
          const reason = coordinated(node)
            ? await cluster.settle(gridNotReadyReason(node, 1_000), `${what}: readiness answers`)
            : 'not started';
          if (reason === null) return;
          if (cluster.time.now > deadline) throw new Error(`never: ${what} (${reason})`);
          await cluster.runFor(100);
        }
      };
      for (const id of MEMBERS) await ready(id, `${id} ready`);

      const stopWriting = steadyWrites(cluster, 5);

      const leaderOf = (replica: (id: string) => boolean) =>
        MEMBERS.find((id) => cluster.alive().includes(id) && replica(id));
      const pickers = [
        () => leaderOf((id) => cluster.node(id).coordination.isLeader()),
        () => leaderOf((id) => cluster.node(id).replica(random.int(PARTITIONS))?.isLeader() === true),
        () => MEMBERS[random.int(MEMBERS.length)],
      ];
      const problems: string[] = [];
      for (let round = 0; round < RESTARTS; round++) {
        const victim = pickers[random.int(pickers.length)]!() ?? MEMBERS[random.int(MEMBERS.length)]!;
        grid.crash(victim);
        // Down for a moment, or past the failure detector's 2 s.
        await cluster.runFor(random.int(3_000));
        grid.start(victim);
        const began = cluster.time.now;
        await ready(victim, `${victim} ready again (round ${round})`);
        const took = cluster.time.now - began;
        if (took > READY_BOUND_MS) problems.push(`round ${round}: ${victim} ready after ${took} ms`);
        // Ready means the grid can take the next restart: no partition is left short of this member.
        if (!seatedEverywhere(victim))
          problems.push(`round ${round}: ${victim} ready, not seated everywhere`);
      }
      stopWriting();
      expect(problems).toEqual([]);
    },
    300_000,
  );
});
