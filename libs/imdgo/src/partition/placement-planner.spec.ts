import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import type { NodeId } from '../raft/types.ts';
import { createPartitionTable, type PartitionTable } from './partition-table.ts';
import { applyMove, type PlacementMove } from './placement-move.ts';
import { type PlacementInput, type PlacementMember, planPlacement } from './placement-planner.ts';

const active = (...ids: NodeId[]): PlacementMember[] => ids.map((id) => ({ id, state: 'active' }));
const ids = (count: number) => Array.from({ length: count }, (_, i) => `n${i + 1}`);

/** Plans and applies every move until none is left; returns the final table and every move made. */
function settle(input: PlacementInput): { table: PartitionTable; moves: PlacementMove[] } {
  let table = input.table;
  const moves: PlacementMove[] = [];
  for (let round = 0; round < 1000; round++) {
    const plan = planPlacement({ ...input, table });
    if (plan.moves.length === 0) return { table, moves };
    for (const move of plan.moves) table = applyMove(table, move);
    moves.push(...plan.moves);
  }
  throw new Error('placement did not settle in 1000 plans');
}

const replicaCounts = (table: PartitionTable, members: readonly NodeId[]) =>
  members.map((id) => table.partitions.filter((p) => [...p.voters, ...p.learners].includes(id)).length);
const leaderCounts = (table: PartitionTable, members: readonly NodeId[]) =>
  members.map((id) => table.partitions.filter((p) => p.leader === id).length);
const spread = (counts: number[]) => Math.max(...counts) - Math.min(...counts);

describe('planPlacement', () => {
  it.each([
    [271, 6, 3],
    [16, 6, 3],
    [16, 7, 3],
    [31, 4, 2],
    [3, 5, 5],
  ])(
    'plans nothing for a balanced table (%i partitions, %i members, %i replicas)',
    (partitions, count, replicas) => {
      const members = ids(count);
      const table = createPartitionTable(partitions, members, replicas);
      expect(planPlacement({ members: active(...members), table, nowMs: 0, replicas })).toEqual({
        moves: [],
        unavailable: [],
      });
    },
  );

  it('moves partitions to a member that joins, at most maxConcurrentMoves at a time, and balances leaders', () => {
    const table = createPartitionTable(16, ids(6), 3);
    const members = active(...ids(7));
    const first = planPlacement({ members, table, nowMs: 0, maxConcurrentMoves: 2 });
    expect(first.moves).toEqual([
      expect.objectContaining({ type: 'add-learner', member: 'n7', reason: 'balance' }),
      expect.objectContaining({ type: 'add-learner', member: 'n7', reason: 'balance' }),
    ]);
    const { table: settled, moves } = settle({ members, table, nowMs: 0, maxConcurrentMoves: 2 });
    // 48 replicas over 7 members: 6 or 7 each, n7's all brought by add-learner, promote and remove.
    const counts = replicaCounts(settled, ids(7));
    expect(counts.every((count) => count === 6 || count === 7)).toBe(true);
    expect(moves.filter((m) => m.type === 'add-learner')).toHaveLength(counts[6]!);
    expect(moves.filter((m) => m.type === 'promote')).toHaveLength(counts[6]!);
    expect(moves.filter((m) => m.type === 'remove')).toHaveLength(counts[6]!);
    expect(spread(leaderCounts(settled, ids(7)))).toBeLessThanOrEqual(1);
  });

  it('replaces a draining member add-learner first, promote, leader transfer, then remove', () => {
    const table: PartitionTable = {
      epoch: 1,
      partitions: [{ voters: ['a', 'b', 'c'], learners: [], leader: 'c' }],
    };
    const members: PlacementMember[] = [...active('a', 'b', 'd'), { id: 'c', state: 'draining' }];
    const { table: settled, moves } = settle({ members, table, nowMs: 0 });
    expect(moves.map(({ type }) => type)).toEqual(['transfer-leader', 'add-learner', 'promote', 'remove']);
    expect(moves[0]).toMatchObject({ from: 'c', to: 'a', reason: 'leader-evacuate' });
    expect(moves[1]).toMatchObject({ member: 'd', reason: 'drain' });
    expect(moves[3]).toMatchObject({ member: 'c', reason: 'drain' });
    expect(settled.partitions[0]).toEqual({ voters: ['a', 'b', 'd'], learners: [], leader: 'a' });
  });

  it('keeps a dead member’s replicas until the timeout, then re-creates them elsewhere', () => {
    const members = ids(4);
    const table = createPartitionTable(8, members.slice(0, 3), 3);
    const dead: PlacementMember[] = [
      ...active('n1', 'n2', 'n4'),
      { id: 'n3', state: 'dead', deadSinceMs: 1000 },
    ];
    const input = { members: dead, table, deadMemberTimeoutMs: 5000, maxConcurrentMoves: 100 };

    const early = planPlacement({ ...input, nowMs: 5999 });
    // Before the timeout only leaderships leave it (and n4, empty, gets its share of replicas by balance).
    expect(early.moves.filter((m) => m.type === 'transfer-leader' && m.from === 'n3')).not.toHaveLength(0);
    expect(early.moves.some((m) => m.reason === 'repair')).toBe(false);

    const late = planPlacement({ ...input, nowMs: 6000 });
    expect(late.moves).toHaveLength(8);
    expect(late.moves.filter((m) => m.reason === 'repair')).not.toHaveLength(0);
    const { table: settled } = settle({ ...input, nowMs: 6000 });
    for (const { voters, leader } of settled.partitions) {
      expect(voters).toHaveLength(3);
      expect(voters).not.toContain('n3');
      expect(leader).not.toBe('n3');
    }
  });

  // With no spare member the dead one's seats are not surplus: removing them would leave groups of two voters,
  // which a second failure stops for good (its restart cannot remove its own stale seat without a majority).
  it('keeps a dead member’s replicas until the timeout when no other member could take them', () => {
    const table = createPartitionTable(4, ['a', 'b', 'c'], 3);
    const members: PlacementMember[] = [...active('a', 'b'), { id: 'c', state: 'dead', deadSinceMs: 1000 }];
    const input = { members, table, deadMemberTimeoutMs: 5000, maxConcurrentMoves: 100 };

    const early = settle({ ...input, nowMs: 5999 });
    for (const { voters, leader } of early.table.partitions) {
      expect([...voters].sort()).toEqual(['a', 'b', 'c']);
      expect(leader).not.toBe('c');
    }
    const late = settle({ ...input, nowMs: 6000 });
    for (const { voters } of late.table.partitions) expect([...voters].sort()).toEqual(['a', 'b']);
  });

  it('treats a table member missing from the member list as dead past the timeout', () => {
    const table = createPartitionTable(4, ['a', 'b', 'c'], 3);
    const { table: settled } = settle({ members: active('a', 'b', 'd'), table, nowMs: 0 });
    for (const { voters } of settled.partitions) expect([...voters].sort()).toEqual(['a', 'b', 'd']);
  });

  it('reports a partition without a live majority and leaves it alone', () => {
    const table: PartitionTable = {
      epoch: 1,
      partitions: [
        { voters: ['a', 'b', 'c'], learners: [], leader: 'a' },
        { voters: ['a', 'd', 'e'], learners: [], leader: 'd' },
      ],
    };
    const members: PlacementMember[] = [
      ...active('a', 'b', 'c', 'f'),
      { id: 'd', state: 'dead', deadSinceMs: 0 },
      { id: 'e', state: 'dead', deadSinceMs: 0 },
    ];
    const plan = planPlacement({ members, table, nowMs: 1_000_000, maxConcurrentMoves: 10 });
    expect(plan.unavailable).toEqual([1]);
    expect(plan.moves.every((m) => m.partition === 0)).toBe(true);
  });

  it('places fewer replicas while the grid is smaller, and adds them as members arrive', () => {
    const table = createPartitionTable(4, ['a', 'b'], 3);
    expect(table.partitions.every((p) => p.voters.length === 2)).toBe(true);
    expect(planPlacement({ members: active('a', 'b'), table, nowMs: 0 }).moves).toEqual([]);
    const grown = settle({ members: active('a', 'b', 'c'), table, nowMs: 0, maxConcurrentMoves: 1 });
    expect(grown.table.partitions.every((p) => p.voters.length === 3)).toBe(true);
    expect(grown.moves.slice(0, 2).map((m) => [m.type, m.reason])).toEqual([
      ['add-learner', 'repair'],
      ['promote', 'repair'],
    ]);
    const shrunk = settle({
      members: [...active('a', 'b'), { id: 'c', state: 'draining' }],
      table: grown.table,
      nowMs: 0,
    });
    expect(shrunk.table.partitions.every((p) => p.voters.length === 2 && !p.voters.includes('c'))).toBe(true);
  });

  it('builds at most maxConcurrentMoves replicas at once', () => {
    const table = createPartitionTable(20, ['a', 'b', 'c'], 3);
    const members: PlacementMember[] = [...active('a', 'b', 'd'), { id: 'c', state: 'dead', deadSinceMs: 0 }];
    let current = table;
    for (let round = 0; round < 10; round++) {
      const plan = planPlacement({ members, table: current, nowMs: 60_000, maxConcurrentMoves: 3 });
      expect(plan.moves.length).toBeLessThanOrEqual(3);
      // Apply only the learner additions, so builds pile up if the bound is not kept.
      for (const move of plan.moves) if (move.type === 'add-learner') current = applyMove(current, move);
      expect(current.partitions.filter((p) => p.learners.length > 0).length).toBeLessThanOrEqual(3);
    }
  });

  it('removes a dead voter before a draining one when removing the draining one would lose the live majority', () => {
    const table: PartitionTable = {
      epoch: 1,
      partitions: [{ voters: ['a', 'b', 'c', 'd', 'e'], learners: [], leader: 'a' }],
    };
    const members: PlacementMember[] = [
      ...active('a', 'b', 'f'),
      { id: 'c', state: 'draining' },
      { id: 'd', state: 'dead', deadSinceMs: 0 },
      { id: 'e', state: 'dead', deadSinceMs: 0 },
    ];
    const plan = planPlacement({ members, table, nowMs: 1000, deadMemberTimeoutMs: 60_000 });
    expect(plan.moves).toEqual([{ type: 'remove', partition: 0, member: 'd', reason: 'repair' }]);
  });

  it('drops a learner that is no longer wanted instead of promoting it', () => {
    const table: PartitionTable = {
      epoch: 1,
      partitions: [{ voters: ['a', 'b'], learners: ['c'], leader: 'a' }],
    };
    const plan = planPlacement({ members: active('a', 'b', 'c'), table, nowMs: 0, replicas: 2 });
    expect(plan.moves).toEqual([{ type: 'remove', partition: 0, member: 'c', reason: 'shrink' }]);
  });

  it('balances leaderships along a chain when no direct transfer helps, its tail first when over budget', () => {
    // a leads 3, c leads 1; c votes in none of a's partitions, but b (leading 2) does.
    const table: PartitionTable = {
      epoch: 1,
      partitions: [
        { voters: ['a', 'b'], learners: [], leader: 'a' },
        { voters: ['a', 'b'], learners: [], leader: 'a' },
        { voters: ['a', 'b'], learners: [], leader: 'a' },
        { voters: ['b', 'c'], learners: [], leader: 'b' },
        { voters: ['b', 'c'], learners: [], leader: 'b' },
        { voters: ['c', 'a'], learners: [], leader: 'c' },
      ],
    };
    // Replica counts are a 4, b 5, c 3, so partition 0 gets a replica-balance move and is left out.
    const input = { members: active('a', 'b', 'c'), table, nowMs: 0, replicas: 2 };
    const moves = planPlacement({ ...input, maxConcurrentMoves: 10 }).moves.filter(
      (m) => m.type === 'transfer-leader',
    );
    expect(moves).toEqual([
      { type: 'transfer-leader', partition: 1, from: 'a', to: 'b', reason: 'leader-balance' },
      { type: 'transfer-leader', partition: 3, from: 'b', to: 'c', reason: 'leader-balance' },
    ]);
    const tail = planPlacement({ ...input, maxConcurrentMoves: 2 }).moves;
    expect(tail.filter((m) => m.type === 'transfer-leader')).toEqual([
      { type: 'transfer-leader', partition: 3, from: 'b', to: 'c', reason: 'leader-balance' },
    ]);
  });

  it.each<[string, Partial<PlacementInput>, RegExp]>([
    ['a duplicate member', { members: active('a', 'a') }, /member a is listed twice/],
    ['zero replicas', { replicas: 0 }, /replicas must be a positive integer, got 0/],
    ['zero concurrent moves', { maxConcurrentMoves: 0 }, /maxConcurrentMoves must be a positive integer/],
    ['a negative timeout', { deadMemberTimeoutMs: -1 }, /deadMemberTimeoutMs must be a non-negative number/],
    ['no clock', { nowMs: Number.NaN }, /nowMs must be a finite number/],
    [
      'a dead member without a time',
      { members: [{ id: 'a', state: 'dead' } as PlacementMember] },
      /dead member a needs a finite deadSinceMs/,
    ],
    [
      'an unknown state',
      { members: [{ id: 'a', state: 'sleeping' } as unknown as PlacementMember] },
      /member a has unknown state sleeping/,
    ],
  ])('refuses %s', (_name, override, message) => {
    const input = { members: active('a'), table: createPartitionTable(1, ['a'], 1), nowMs: 0, ...override };
    expect(() => planPlacement(input)).toThrow(InvalidArgumentError);
    expect(() => planPlacement(input)).toThrow(message);
  });
});
