import { describe, expect, it } from 'vitest';
import type { PartitionTable } from '../../src/partition/partition-table.ts';
import { GridCluster } from './grid-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];

function withVoters(
  table: PartitionTable,
  epoch: number,
  partition: number,
  voters: string[],
): PartitionTable {
  return {
    epoch,
    partitions: table.partitions.map((replicas, p) => (p === partition ? { ...replicas, voters } : replicas)),
  };
}

describe('a partition replica destroyed and created again in one process while the group still seats it', () => {
  it('joins as a process of its own: it votes for no one without the write it acknowledged before', async () => {
    const grid = new GridCluster({
      members: MEMBERS,
      partitions: 2,
      seed: 31,
      extra: () => ({ quiesce: false }),
    });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    const partition = 0;
    const table = grid.node('a:1').table();
    const voters = [...table.partitions[partition]!.voters];
    const leader = voters.find((id) => grid.node(id).replica(partition)!.isLeader())!;
    const [x, z] = voters.filter((id) => id !== leader) as [string, string];

    // z is cut off: the leader and x alone acknowledge the write.
    grid.wire.network.partition([z], [leader, x]);
    const write = grid.node(leader).write(partition, { op: 'set', map: 'm', key: 'k', value: 'acked' });
    expect((await grid.settle(write, 'the write')).applied).toBe(true);
    await grid.runFor(200);
    expect(grid.node(x).replica(partition)!.machine.get('m', 'k')?.value).toBe('acked');

    // A table takes x out of the partition before the group removed its seat, and a newer one puts it back:
    // the same process creates an empty replica.
    const dropped = withVoters(
      table,
      table.epoch + 1,
      partition,
      voters.filter((id) => id !== x),
    );
    await grid.settle(grid.node(x).adoptTable(dropped), 'x drops the partition');
    expect(grid.node(x).replica(partition)).toBeUndefined();
    await grid.settle(
      grid.node(x).adoptTable(withVoters(table, table.epoch + 2, partition, voters)),
      'x back',
    );
    await grid.runFor(3_000);

    // The leader is cut off (it keeps its memory) and z comes back beside x. Taken for the seat's holder, x's
    // empty replica gave z its vote, and z, which never had the write, led without it and wrote over it.
    grid.wire.network.heal();
    grid.wire.network.partition([leader], [x, z]);
    await grid.runFor(5_000);
    expect(grid.node(z).replica(partition)!.isLeader()).toBe(false);
    grid.wire.network.heal();
    const record = await grid.settle(grid.node(z).read(partition, 'm', 'k', 'linearizable'), 'the read');
    expect(record?.value).toBe('acked');
    // x's replica rejoins as a new member: the old seat goes, the new process is seated and promoted.
    await grid.runUntil(() => grid.node(x).replica(partition)!.isSeatedVoter(), 'x a voter again');
  }, 120_000);
});
