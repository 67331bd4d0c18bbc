import { describe, expect, it } from 'vitest';
import { InvalidPartitionTableError } from './partition-errors.ts';
import { createPartitionTable, type PartitionTable, validatePartitionTable } from './partition-table.ts';

const counts = (values: readonly string[]) => {
  const byId = new Map<string, number>();
  for (const id of values) byId.set(id, (byId.get(id) ?? 0) + 1);
  return [...byId.values()];
};

describe('createPartitionTable', () => {
  it.each([
    [271, 3, 3],
    [271, 6, 3],
    [16, 6, 3],
    [16, 7, 3],
    [10, 4, 2],
    [5, 5, 5],
    [1, 3, 3],
    [7, 1, 3],
  ])('balances %i partitions over %i members with %i replicas', (partitions, memberCount, replicas) => {
    const members = Array.from({ length: memberCount }, (_, i) => `n${i + 1}`);
    const table = createPartitionTable(partitions, members, replicas);
    expect(table.epoch).toBe(1);
    expect(table.partitions).toHaveLength(partitions);
    const perPartition = Math.min(replicas, memberCount);
    for (const { voters, learners } of table.partitions) {
      expect(new Set(voters).size).toBe(perPartition);
      expect(learners).toEqual([]);
    }
    const replicaCounts = counts(table.partitions.flatMap((p) => p.voters));
    expect(Math.max(...replicaCounts) - Math.min(...replicaCounts)).toBeLessThanOrEqual(1);
    const leaderCounts = counts(table.partitions.map((p) => p.leader));
    if (partitions >= memberCount) expect(leaderCounts).toHaveLength(memberCount);
    expect(Math.max(...leaderCounts) - Math.min(...leaderCounts)).toBeLessThanOrEqual(1);
  });

  it('refuses no members, duplicate members and a bad replica count', () => {
    expect(() => createPartitionTable(4, [], 3)).toThrow(/at least one member/);
    expect(() => createPartitionTable(4, ['a', 'a'], 3)).toThrow(/listed twice/);
    expect(() => createPartitionTable(4, ['a'], 0)).toThrow(/replicas must be a positive integer/);
    expect(() => createPartitionTable(0, ['a'], 1)).toThrow(/1 to 65536 partitions/);
  });
});

describe('validatePartitionTable', () => {
  const good: PartitionTable = {
    epoch: 3,
    partitions: [{ voters: ['a', 'b'], learners: ['c'], leader: 'b' }],
  };
  const withPartition = (replicas: object): PartitionTable => ({
    epoch: 3,
    partitions: [{ ...good.partitions[0]!, ...replicas }],
  });

  it('accepts a well-formed table', () => {
    expect(() => validatePartitionTable(good)).not.toThrow();
  });

  it.each([
    ['a zero epoch', { ...good, epoch: 0 }, /epoch must be a positive integer, got 0/],
    ['a fractional epoch', { ...good, epoch: 1.5 }, /epoch must be a positive integer/],
    ['no partitions', { epoch: 1, partitions: [] }, /1 to 65536 partitions, got 0/],
    ['no voter', withPartition({ voters: [], leader: 'a' }), /partition 0: it has no voter/],
    ['a voter twice', withPartition({ voters: ['a', 'a'] }), /partition 0: a is listed twice/],
    ['a learner that votes', withPartition({ learners: ['a'] }), /partition 0: a is listed twice/],
    ['an empty id', withPartition({ learners: [''] }), /non-empty strings/],
    ['a leader that is no voter', withPartition({ leader: 'c' }), /its leader c is not one of its voters/],
  ])('refuses %s', (_name, table, message) => {
    expect(() => validatePartitionTable(table as PartitionTable)).toThrow(InvalidPartitionTableError);
    expect(() => validatePartitionTable(table as PartitionTable)).toThrow(message);
  });
});
