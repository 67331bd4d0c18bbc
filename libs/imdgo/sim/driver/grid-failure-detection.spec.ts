import { describe, expect, it } from 'vitest';
import { coordinated, PlacedGrid } from './placed-grid.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];

describe('failure detection across a memory-mode restart', () => {
  // The new process talks to the coordination group under the member's id before it registers: its
  // contact must not revive the dead predecessor, which placement would then seat as a learner nobody can be.
  it.each(['follower', 'leader'])(
    'keeps a lost process dead while its successor has not registered (the coordination %s restarts)',
    async (role) => {
      const grid = new PlacedGrid({ members: MEMBERS, partitions: 4, replicas: 3, seed: 7 });
      const { cluster } = grid;
      for (const id of MEMBERS) grid.start(id);
      const record = (id: string) => {
        const via = cluster.alive().find((other) => other !== id && coordinated(cluster.node(other)));
        return via === undefined ? undefined : cluster.node(via).coordination.machine.grid.member(id);
      };
      await cluster.runUntil(
        () => cluster.everyPartitionLed() && MEMBERS.every((id) => record(id)?.incarnation),
        'formed and every member registered',
      );
      const restarted = MEMBERS.find(
        (id) => cluster.node(id).coordination.isLeader() === (role === 'leader'),
      )!;
      const lost = record(restarted)!.incarnation;
      grid.crash(restarted);
      await cluster.runUntil(() => record(restarted)?.deadSince !== null, `${restarted} marked dead`, 30_000);

      // The new process only, without its placement: it never registers, as one still catching up.
      cluster.start(restarted);
      const revived: number[] = [];
      const sample = (): void => {
        const now = record(restarted);
        if (now?.incarnation === lost && now.deadSince === null) revived.push(cluster.time.now);
        cluster.time.at(cluster.time.now + 10, sample);
      };
      sample();
      await cluster.runFor(15_000);
      expect(revived.slice(0, 1)).toEqual([]);
      expect(record(restarted)?.incarnation).toBe(lost);
    },
    120_000,
  );
});
