import { describe, expect, it } from 'vitest';
import { createPartitionTable } from '../partition/partition-table.ts';
import { encodePartitionTable } from '../partition/partition-table-codec.ts';
import { planPlacement } from '../partition/placement-planner.ts';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, parseCommand, stampCommand, type CommandResult, type KvCommand } from './commands.ts';
import type { GridCommand } from './grid-commands.ts';
import type { GridOutcome } from './grid-meta.ts';
import type { PlacementMove } from '../partition/placement-move.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { encodeImage } from './snapshot-image.ts';

const MEMBERS = ['a', 'b', 'c'];
const spec = (id: string, incarnation = `${id}-1`) => ({ id, incarnation, address: `${id}:1` });

function entry(index: number, command: KvCommand, time: number): Entry {
  const data = stampCommand(encodeCommand({ command }), { time, storeLimit: null });
  return { index, term: 1, kind: 'command', data };
}

/** A coordination group's state machine, formed with 4 partitions over a, b, c (3 replicas). */
function formed(): { machine: KvStateMachine; run: (command: GridCommand, time?: number) => CommandResult } {
  const machine = new KvStateMachine();
  const run = (command: GridCommand, time = 1_000) =>
    machine.apply(entry(machine.appliedIndex + 1, command, time)).result!;
  const table = encodePartitionTable(createPartitionTable(4, MEMBERS, 3));
  expect(run({ op: 'grid-init', table, replicas: 3, members: MEMBERS.map((id) => spec(id)) }).applied).toBe(
    true,
  );
  return { machine, run };
}

const parse = (command: object) => parseCommand(encodeCommand({ command: command as KvCommand }));

const reason = (result: CommandResult) => (result.value as GridOutcome).reason;

describe('grid metadata in the coordination group', () => {
  it('forms once: members active, the table at epoch 1; a different second formation is refused', () => {
    const { machine, run } = formed();
    expect(machine.grid.table?.epoch).toBe(1);
    expect(machine.grid.replicas).toBe(3);
    expect(machine.grid.placementMembers()).toEqual(MEMBERS.map((id) => ({ id, state: 'active' })));
    const other = encodePartitionTable(createPartitionTable(2, MEMBERS, 3));
    const again = run({ op: 'grid-init', table: other, replicas: 3, members: MEMBERS.map((id) => spec(id)) });
    expect(again.applied).toBe(false);
    expect(reason(again)).toBe('the grid is formed already');
  });

  it('joins a member as joining, activates it, drains it; activation needs its incarnation', () => {
    const { machine, run } = formed();
    expect(run({ op: 'grid-join', ...spec('d') }).applied).toBe(true);
    expect(machine.grid.member('d')).toMatchObject({ state: 'joining', staleReplicas: false });
    expect(run({ op: 'grid-activate', id: 'd', incarnation: 'd-0' }).applied).toBe(false);
    expect(run({ op: 'grid-activate', id: 'd', incarnation: 'd-1' }).applied).toBe(true);
    expect(machine.grid.member('d')?.state).toBe('active');
    expect(run({ op: 'grid-drain', id: 'd' }).applied).toBe(true);
    expect(machine.grid.member('d')?.state).toBe('draining');
    expect(machine.grid.isDrained('d')).toBe(true);
    expect(run({ op: 'grid-activate', id: 'd', incarnation: 'd-1' }).applied).toBe(false);
    expect(run({ op: 'grid-drain', id: 'x' }).applied).toBe(false);
  });

  it('records deadSince in log time at the first report; mark-alive clears it; a stale incarnation is refused', () => {
    const { machine, run } = formed();
    expect(run({ op: 'grid-mark-dead', id: 'b', incarnation: 'b-1' }, 5_000).applied).toBe(true);
    run({ op: 'grid-mark-dead', id: 'b', incarnation: 'b-1' }, 9_000);
    expect(machine.grid.member('b')?.deadSince).toBe(5_000);
    expect(machine.grid.placementMembers()).toContainEqual({ id: 'b', state: 'dead', deadSinceMs: 5_000 });
    expect(run({ op: 'grid-mark-alive', id: 'b', incarnation: 'b-0' }).applied).toBe(false);
    expect(run({ op: 'grid-mark-alive', id: 'b', incarnation: 'b-1' }).applied).toBe(true);
    expect(machine.grid.member('b')?.deadSince).toBeNull();
  });

  it('applies a move against its epoch; a mismatch is refused, a repeated record is success', () => {
    const { machine, run } = formed();
    run({ op: 'grid-join', ...spec('d') });
    run({ op: 'grid-activate', id: 'd', incarnation: 'd-1' });
    const add = { type: 'add-learner', partition: 0, member: 'd', reason: 'balance' } as const;
    expect(run({ op: 'grid-move-applied', move: add, epoch: 1 }).applied).toBe(true);
    expect(machine.grid.table?.epoch).toBe(2);
    expect(machine.grid.table?.partitions[0]?.learners).toEqual(['d']);
    // The same record again (a retry after a lost answer) changes nothing and succeeds.
    const again = run({ op: 'grid-move-applied', move: add, epoch: 1 });
    expect(again.applied).toBe(true);
    expect((again.value as GridOutcome).epoch).toBe(2);
    // Planned against an older table: refused.
    const promote = { type: 'promote', partition: 0, member: 'd', reason: 'balance' } as const;
    const stale = run({ op: 'grid-move-applied', move: promote, epoch: 1 });
    expect(stale.applied).toBe(false);
    expect(reason(stale)).toBe('planned at epoch 1, the table is at 2');
    // Removing a member the partition does not hold: already so, success without a new epoch.
    const gone = { type: 'remove', partition: 0, member: 'zz', reason: 'shrink' } as const;
    expect(run({ op: 'grid-move-applied', move: gone, epoch: 2 }).applied).toBe(true);
    // Against the current table but not applicable: refused, table unchanged.
    const leader = machine.grid.table!.partitions[0]!.leader;
    const refused = run({
      op: 'grid-move-applied',
      move: { type: 'remove', partition: 0, member: leader, reason: 'shrink' },
      epoch: 2,
    });
    expect(refused.applied).toBe(false);
    expect(reason(refused)).toMatch(/preferred leader/);
    expect(machine.grid.table?.epoch).toBe(2);
    expect(run({ op: 'grid-move-applied', move: promote, epoch: 2 }).applied).toBe(true);
    expect(machine.grid.table?.partitions[0]?.voters).toContain('d');
  });

  it('refuses to add a learner on an unknown member', () => {
    const { run } = formed();
    const add = { type: 'add-learner', partition: 1, member: 'nobody', reason: 'repair' } as const;
    expect(reason(run({ op: 'grid-move-applied', move: add, epoch: 1 }))).toBe('nobody is not a member');
  });

  it('a new incarnation counts the old one’s replicas as lost until placement has removed them all', () => {
    const { machine, run } = formed();
    run({ op: 'grid-join', ...spec('d') });
    run({ op: 'grid-activate', id: 'd', incarnation: 'd-1' });
    // b restarts in memory mode: a new process under the same id.
    run({ op: 'grid-join', ...spec('b', 'b-2') });
    expect(machine.grid.member('b')).toMatchObject({
      incarnation: 'b-2',
      state: 'joining',
      staleReplicas: true,
    });
    expect(machine.grid.placementMembers().map((m) => m.id)).not.toContain('b');
    // The planner treats b's replicas as lost: it moves leaderships off b and builds replacements on d.
    const plan = planPlacement({
      members: machine.grid.placementMembers(),
      table: machine.grid.table!,
      nowMs: 1_000,
      maxConcurrentMoves: 8,
    });
    const adds = plan.moves.filter((m) => m.type === 'add-learner');
    expect(adds.length).toBeGreaterThan(0);
    expect(adds.every((m) => m.member === 'd')).toBe(true);
    expect(plan.moves.every((m) => m.type !== 'transfer-leader' || m.from === 'b')).toBe(true);
    // Activated, the member stays out of placement while stale replicas remain.
    run({ op: 'grid-activate', id: 'b', incarnation: 'b-2' });
    expect(machine.grid.placementMembers().map((m) => m.id)).not.toContain('b');
    // Placement replaces b everywhere (here by hand: learner on d, promote, b's leaderships moved, remove b).
    const partitions = machine.grid.table!.partitions.length;
    for (let partition = 0; partition < partitions; partition++) {
      const record = (move: Parameters<typeof run>[0]) => expect(run(move).applied).toBe(true);
      const epoch = () => machine.grid.table!.epoch;
      const reasonRepair = 'repair' as const;
      record({
        op: 'grid-move-applied',
        move: { type: 'add-learner', partition, member: 'd', reason: reasonRepair },
        epoch: epoch(),
      });
      record({
        op: 'grid-move-applied',
        move: { type: 'promote', partition, member: 'd', reason: reasonRepair },
        epoch: epoch(),
      });
      if (machine.grid.table!.partitions[partition]!.leader === 'b') {
        record({
          op: 'grid-move-applied',
          move: { type: 'transfer-leader', partition, from: 'b', to: 'd', reason: 'leader-evacuate' },
          epoch: epoch(),
        });
      }
      expect(machine.grid.member('b')?.staleReplicas).toBe(true);
      record({
        op: 'grid-move-applied',
        move: { type: 'remove', partition, member: 'b', reason: reasonRepair },
        epoch: epoch(),
      });
    }
    expect(machine.grid.member('b')).toMatchObject({ state: 'active', staleReplicas: false });
    expect(machine.grid.placementMembers()).toContainEqual({ id: 'b', state: 'active' });
  });

  it('a restart’s stale seats are removed when drained members that died leave no room for replacements', () => {
    const { machine, run } = formed();
    // d joins, then leaves again: drained (it never held a replica), its process gone and marked dead.
    run({ op: 'grid-join', ...spec('d') });
    run({ op: 'grid-activate', id: 'd', incarnation: 'd-1' });
    run({ op: 'grid-drain', id: 'd' });
    run({ op: 'grid-mark-dead', id: 'd', incarnation: 'd-1' }, 2_000);
    expect(machine.grid.isDrained('d')).toBe(true);
    // c restarts in memory mode: its seats are lost, and only a and b are left to hold replicas.
    run({ op: 'grid-join', ...spec('c', 'c-2') });
    run({ op: 'grid-activate', id: 'c', incarnation: 'c-2' });
    const plan = planPlacement({
      members: machine.grid.placementMembers(),
      table: machine.grid.table!,
      nowMs: 3_000,
      maxConcurrentMoves: 8,
    });
    // Had dead d counted as holding seats, the target would stay 3 and c's seats would wait for replacements
    // (no moves at all). Each partition removes c, or first hands its leadership off c.
    expect(plan.moves.map((m) => m.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(
      plan.moves.every(
        (m) => (m.type === 'remove' && m.member === 'c') || (m.type === 'transfer-leader' && m.from === 'c'),
      ),
    ).toBe(true);
  });

  it('counts a member’s share of replicas from the replica target, not from partitions still short of it', () => {
    const { machine, run } = formed();
    // 4 partitions × 3 replicas over 3 members: each holds all four.
    expect(machine.grid.replicaShare()).toBe(4);
    // b restarted: its stale seats removed everywhere; back in three partitions, the fourth still has two voters.
    run({ op: 'grid-join', ...spec('b', 'b-2') });
    run({ op: 'grid-activate', id: 'b', incarnation: 'b-2' });
    const record = (move: PlacementMove) =>
      expect(run({ op: 'grid-move-applied', move, epoch: machine.grid.table!.epoch }).applied).toBe(true);
    for (let partition = 0; partition < 4; partition++) {
      if (machine.grid.table!.partitions[partition]!.leader === 'b') {
        record({ type: 'transfer-leader', partition, from: 'b', to: 'a', reason: 'leader-evacuate' });
      }
      record({ type: 'remove', partition, member: 'b', reason: 'repair' });
    }
    for (let partition = 0; partition < 3; partition++) {
      record({ type: 'add-learner', partition, member: 'b', reason: 'repair' });
      record({ type: 'promote', partition, member: 'b', reason: 'repair' });
    }
    // b holds 3 replicas: not its share while partition 3 lacks it (the table's 11 voters / 3 would say 3).
    expect(machine.grid.replicaShare()).toBe(4);
    // With fewer active members than replicas, every partition has each of them.
    run({ op: 'grid-drain', id: 'c' });
    expect(machine.grid.replicaShare()).toBe(4);
  });

  it('a formation member without a known incarnation announces it by joining; a later one is a restart', () => {
    const machine = new KvStateMachine();
    const table = encodePartitionTable(createPartitionTable(2, ['a', 'b'], 2));
    const members = [spec('a'), { ...spec('b'), incarnation: '' }];
    machine.apply(entry(1, { op: 'grid-init', table, replicas: 2, members }, 10));
    machine.apply(entry(2, { op: 'grid-join', ...spec('b', 'b-7') }, 20));
    expect(machine.grid.member('b')).toMatchObject({
      incarnation: 'b-7',
      state: 'active',
      staleReplicas: false,
    });
    machine.apply(entry(3, { op: 'grid-join', ...spec('b', 'b-8') }, 30));
    expect(machine.grid.member('b')).toMatchObject({ incarnation: 'b-8', staleReplicas: true });
    expect(parse({ op: 'grid-join', ...spec('c', '') })).toBe('the incarnation is not a non-empty string');
    // A formation member that dies before announcing itself can still be marked dead.
    const marked = machine.apply(entry(4, { op: 'grid-mark-dead', id: 'b', incarnation: '' }, 40)).result!;
    expect(marked.applied).toBe(false); // b announced b-8 since
    const fresh = new KvStateMachine();
    fresh.apply(entry(1, { op: 'grid-init', table, replicas: 2, members }, 10));
    expect(
      fresh.apply(entry(2, { op: 'grid-mark-dead', id: 'b', incarnation: '' }, 60)).result!.applied,
    ).toBe(true);
    expect(fresh.grid.member('b')?.deadSince).toBe(60);
  });

  it('survives a snapshot: the restored machine holds the same metadata and digest', () => {
    const { machine, run } = formed();
    run({ op: 'grid-join', ...spec('d') });
    run({ op: 'grid-mark-dead', id: 'c', incarnation: 'c-1' }, 7_000);
    run({
      op: 'grid-move-applied',
      move: { type: 'add-learner', partition: 2, member: 'd', reason: 'balance' },
      epoch: 1,
    });
    const restored = new KvStateMachine();
    restored.restore(encodeImage(machine.capture()));
    expect(restored.digest()).toBe(machine.digest());
    expect(restored.grid.memberList()).toEqual(machine.grid.memberList());
    expect(restored.grid.table).toEqual(machine.grid.table);
    expect(restored.grid.replicas).toBe(3);
  });

  it('emits a change in the grid space for every table and member change', () => {
    const machine = new KvStateMachine();
    const table = encodePartitionTable(createPartitionTable(1, ['a'], 1));
    const applied = machine.apply(
      entry(1, { op: 'grid-init', table, replicas: 1, members: [spec('a')] }, 10),
    );
    expect(applied.changes.map((c) => [c.map, c.key, c.value])).toEqual([
      ['imdgo:grid', 'member:a', expect.objectContaining({ id: 'a', state: 'active' })],
      ['imdgo:grid', 'table', 1],
    ]);
  });

  it('rejects malformed grid commands from peers with a reason', () => {
    expect(parse({ op: 'grid-join', id: '', incarnation: 'x', address: '' })).toBe(
      'the member id is not a non-empty string',
    );
    expect(parse({ op: 'grid-move-applied', epoch: 1, move: { type: 'jump', partition: 0 } })).toBe(
      'unknown move type jump',
    );
    expect(parse({ op: 'grid-move-applied', epoch: 1.5, move: {} })).toBe('the epoch is not an integer');
    expect(parse({ op: 'grid-init', table: '{}', replicas: 0, members: [] })).toBe(
      'replicas is not a positive integer',
    );
  });
});
