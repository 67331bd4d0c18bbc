import { describe, expect, it } from 'vitest';
import type { PartitionTable } from '../../src/partition/partition-table.ts';
import { PlacedGrid } from './placed-grid.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];
const JOINER = 'f:1';
const PARTITIONS = 6;

describe('a node joining a formed grid', () => {
  it('routes and hosts only by tables the coordination group recorded, and is then given replicas', async () => {
    const grid = new PlacedGrid({ members: MEMBERS, partitions: PARTITIONS, replicas: 3, seed: 41 });
    const { cluster } = grid;
    for (const id of MEMBERS) grid.start(id);
    const recorded = new Map<number, string>();
    const problems: string[] = [];
    /** Every table any coordination replica holds now is one the grid recorded: remember them. */
    const watch = (): void => {
      for (const id of cluster.alive()) {
        let table: PartitionTable | null = null;
        try {
          table = cluster.node(id).coordination.machine.grid.table;
        } catch {
          continue;
        }
        if (table !== null) recorded.set(table.epoch, JSON.stringify(table));
      }
      const joiner = cluster.nodes.get(JOINER);
      if (!joiner) return;
      const table = joiner.table();
      if (table.epoch !== 0 && recorded.get(table.epoch) !== JSON.stringify(table))
        problems.push(`${JOINER} routes by table ${table.epoch}, which the grid never recorded`);
      table.partitions.forEach(({ voters, learners }, partition) => {
        const placed = voters.includes(JOINER) || learners.includes(JOINER);
        if (joiner.replica(partition) !== undefined && !placed)
          problems.push(
            `${JOINER} hosts partition ${partition}, which its table ${table.epoch} does not place there`,
          );
      });
    };
    await cluster.runUntil(() => {
      watch();
      return (
        cluster.alive().every((id) => cluster.node(id).table().epoch >= 1) && cluster.everyPartitionLed()
      );
    }, 'formed');

    const joiner = grid.start(JOINER, [...MEMBERS, JOINER]);
    // Before it has a table, a write through it goes to a member that has one.
    const key = 'joined';
    const written = joiner.write(joiner.partitionOf('', key), { op: 'set', map: '', key, value: 7 });
    let outcome: unknown = null;
    written.then(
      (result) => (outcome = result),
      (error: unknown) => (outcome = error),
    );
    const balanced = (): boolean => {
      const table = cluster.node('a:1').coordination.machine.grid.table!;
      const counts = [...MEMBERS, JOINER].map(
        (id) => table.partitions.filter((p) => p.voters.includes(id)).length,
      );
      return (
        table.partitions.every((p) => p.learners.length === 0 && p.voters.length === 3) &&
        Math.max(...counts) - Math.min(...counts) <= 1 &&
        cluster.alive().every((id) => cluster.node(id).table().epoch === table.epoch) &&
        table.partitions.every(
          (p, partition) => (joiner.replica(partition) !== undefined) === p.voters.includes(JOINER),
        )
      );
    };
    await cluster.runUntil(
      () => {
        watch();
        return outcome !== null && balanced();
      },
      `${JOINER} given its share of the replicas`,
      180_000,
    );
    expect(problems.slice(0, 3)).toEqual([]);
    expect(outcome).toMatchObject({ applied: true });
    const record = await cluster.settle(
      cluster.node('b:1').read(joiner.partitionOf('', key), '', key, 'linearizable'),
      'read back',
    );
    expect(record?.value).toBe(7);
  }, 120_000);
});
