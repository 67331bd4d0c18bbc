import { describe, expect, it } from 'vitest';
import type { PartitionTable } from '../../src/partition/partition-table.ts';
import { GridCluster } from './grid-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];

describe('GridNode table and status', () => {
  it('reports every partition: replicas, leader, lag where it leads, its own role or none', async () => {
    const grid = new GridCluster({ members: MEMBERS, partitions: 4, seed: 21 });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    for (const id of MEMBERS) {
      const node = grid.node(id);
      for (const status of node.status()) {
        const replica = node.replica(status.partition);
        expect(status.group).toBe(status.partition + 1);
        expect(status.voters).toEqual(node.table().partitions[status.partition]!.voters);
        if (!replica) {
          expect(status.role).toBeNull();
          continue;
        }
        const leader = grid.alive().find((m) => grid.node(m).replica(status.partition)?.isLeader());
        expect(status.leader).toBe(leader);
        expect(status.role).toBe(replica.isLeader() ? 'leader' : 'follower');
        if (replica.isLeader()) expect(Object.keys(status.lag!).sort()).toEqual([...status.voters].sort());
        else expect(status.lag).toBeNull();
      }
    }
  }, 60_000);

  it('a newer table creates the groups it places on a node and destroys those it takes away', async () => {
    const grid = new GridCluster({ members: MEMBERS, partitions: 4, seed: 22 });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    const table = grid.node('a:1').table();
    const partition = 0;
    const { voters } = table.partitions[partition]!;
    const leaving = voters.find((id) => id !== table.partitions[partition]!.leader)!;
    const joining = MEMBERS.find((id) => !voters.includes(id))!;
    const newer: PartitionTable = {
      epoch: 2,
      partitions: table.partitions.map((replicas, p) =>
        p === partition
          ? { ...replicas, voters: [...voters.filter((id) => id !== leaving), joining] }
          : replicas,
      ),
    };
    for (const id of MEMBERS) await grid.settle(grid.node(id).adoptTable(newer), 'adopt');
    expect(grid.node(leaving).replica(partition)).toBeUndefined();
    expect(grid.node(joining).replica(partition)).toBeDefined();
    await grid.runUntil(
      () => grid.node(joining).replica(partition)!.isSeatedVoter(),
      'the new replica joins',
    );
    // An older table changes nothing.
    expect(await grid.settle(grid.node('a:1').adoptTable(table), 'stale adopt')).toBe(false);
    const result = await grid.settle(
      grid.node(leaving).write(partition, { op: 'set', map: 'm', key: 'k', value: 1 }),
      'a write routed from the former replica',
    );
    expect(result.applied).toBe(true);
  }, 60_000);
});
