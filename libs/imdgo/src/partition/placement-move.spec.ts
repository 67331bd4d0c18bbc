import { describe, expect, it } from 'vitest';
import { MoveNotApplicableError } from './partition-errors.ts';
import type { PartitionTable } from './partition-table.ts';
import { applyMove, type PlacementMove } from './placement-move.ts';

const table: PartitionTable = {
  epoch: 7,
  partitions: [
    { voters: ['a', 'b', 'c'], learners: [], leader: 'a' },
    { voters: ['b', 'c'], learners: ['d'], leader: 'c' },
  ],
};

describe('applyMove', () => {
  it('moves a replica in single-server steps, each at the next epoch', () => {
    const added = applyMove(table, { type: 'add-learner', partition: 0, member: 'd', reason: 'balance' });
    expect(added.epoch).toBe(8);
    expect(added.partitions[0]).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'], leader: 'a' });
    const promoted = applyMove(added, { type: 'promote', partition: 0, member: 'd', reason: 'balance' });
    expect(promoted.partitions[0]).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [], leader: 'a' });
    const removed = applyMove(promoted, { type: 'remove', partition: 0, member: 'b', reason: 'balance' });
    expect(removed.epoch).toBe(10);
    expect(removed.partitions[0]).toEqual({ voters: ['a', 'c', 'd'], learners: [], leader: 'a' });
    expect(removed.partitions[1]).toBe(table.partitions[1]);
  });

  it('removes a learner and transfers leadership', () => {
    const removed = applyMove(table, { type: 'remove', partition: 1, member: 'd', reason: 'drain' });
    expect(removed.partitions[1]).toEqual({ voters: ['b', 'c'], learners: [], leader: 'c' });
    const moved = applyMove(table, {
      type: 'transfer-leader',
      partition: 1,
      from: 'c',
      to: 'b',
      reason: 'leader-balance',
    });
    expect(moved.partitions[1]!.leader).toBe('b');
  });

  it.each<[PlacementMove, RegExp]>([
    [{ type: 'add-learner', partition: 2, member: 'd', reason: 'repair' }, /the table has 2 partitions/],
    [{ type: 'add-learner', partition: 0, member: 'b', reason: 'repair' }, /b is already a replica/],
    [{ type: 'add-learner', partition: 1, member: 'd', reason: 'repair' }, /d is already a replica/],
    [{ type: 'promote', partition: 0, member: 'd', reason: 'repair' }, /d is not a learner/],
    [{ type: 'remove', partition: 0, member: 'a', reason: 'drain' }, /a is the preferred leader; transfer/],
    [{ type: 'remove', partition: 0, member: 'z', reason: 'drain' }, /z is not a replica/],
    [
      { type: 'transfer-leader', partition: 0, from: 'b', to: 'c', reason: 'leader-balance' },
      /the preferred leader is a, not b/,
    ],
    [
      { type: 'transfer-leader', partition: 1, from: 'c', to: 'd', reason: 'leader-balance' },
      /d is not a voter/,
    ],
    [
      { type: 'transfer-leader', partition: 0, from: 'a', to: 'a', reason: 'leader-balance' },
      /a already leads/,
    ],
  ])('refuses %j', (move, message) => {
    expect(() => applyMove(table, move)).toThrow(MoveNotApplicableError);
    expect(() => applyMove(table, move)).toThrow(message);
  });
});
