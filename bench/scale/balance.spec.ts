import { describe, expect, it } from 'vitest';
import { createPartitionTable, partitionOf } from '../../libs/imdgo/src/partition/index.ts';
import { balanceOf, grownTable, keysPerPartition, maxOverMean } from './balance.ts';

describe('partition balance', () => {
  it('is the most loaded member against the mean', () => {
    expect(
      maxOverMean(
        new Map([
          ['a', 6],
          ['b', 5],
          ['c', 5],
        ]),
      ),
    ).toBeCloseTo(6 / (16 / 3));
    expect(
      maxOverMean(
        new Map([
          ['a', 0],
          ['b', 0],
        ]),
      ),
    ).toBe(1);
  });

  it('weighs keys held by every replica and keys led by the leader only', () => {
    // 4 partitions, 2 replicas, on a, b, c: voters dealt round-robin, each led by its least-leading voter.
    const table = createPartitionTable(4, ['a', 'b', 'c'], 2);
    const balance = balanceOf(table, ['a', 'b', 'c'], [100, 0, 0, 0]);
    const first = table.partitions[0]!;
    expect(first.voters).toEqual(['a', 'b']);
    // Only partition 0 has keys: a and b hold 100 each (mean 200/3), its leader leads all 100 (mean 100/3).
    expect(balance.keys).toBeCloseTo(100 / (200 / 3));
    expect(balance.ledKeys).toBeCloseTo(3);
    expect(balance.replicas).toBeCloseTo(3 / (8 / 3));
  });

  it('counts every key once, in the partition the library puts it', () => {
    const counts = keysPerPartition(['a', 'b', 'c', 'x{t}', 'y{t}'], 16);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(5);
    // The two keys tagged {t} share a partition.
    expect(counts[partitionOf('default', 'x{t}', 16)]).toBeGreaterThanOrEqual(2);
  });

  it('follows placement as the grid grows: every member gets replicas, counts within two of each other', () => {
    const table = grownTable(16, 3, 3, 6);
    const members = ['m01', 'm02', 'm03', 'm04', 'm05', 'm06'];
    const held = members.map((id) => table.partitions.filter((p) => p.voters.includes(id)).length);
    expect(held.reduce((sum, n) => sum + n, 0)).toBe(48);
    expect(Math.max(...held) - Math.min(...held)).toBeLessThanOrEqual(1);
    expect(
      balanceOf(
        table,
        members,
        Array.from({ length: 16 }, () => 1),
      ).replicas,
    ).toBe(1);
  });
});
