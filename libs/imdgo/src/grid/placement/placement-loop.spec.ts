import { Logger } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { SimProcess, VirtualTime } from '../../../sim/driver/virtual-time.ts';
import { createPartitionTable, type PartitionTable } from '../../partition/partition-table.ts';
import { encodePartitionTable } from '../../partition/partition-table-codec.ts';
import type { PlacementMove } from '../../partition/placement-move.ts';
import {
  encodeCommand,
  stampCommand,
  type CommandResult,
  type KvCommand,
} from '../../state-machine/commands.ts';
import type { GridCommand } from '../../state-machine/grid-commands.ts';
import { KvStateMachine } from '../../state-machine/kv-state-machine.ts';
import type { Coordination } from './coordination.ts';
import type { MoveContext, MoveExecutor } from './move-executor.ts';
import { describeMove, PlacementLoop } from './placement-loop.ts';

if (!process.env.IMDGO_TEST_LOGS) Logger.overrideLogger(false);

/** A coordination group of one: commands apply at once, stamped with the scheduler's clock. */
class FakeCoordination implements Coordination {
  readonly machine = new KvStateMachine();
  leader = true;
  /** When a member went silent; the others are heard from all the time. */
  private readonly silentSince = new Map<string, number>();
  readonly log: GridCommand[] = [];
  /** How far the log's time stands ahead of the clock (as after a leader's clock jumped forwards and back). */
  logAheadMs = 0;
  private readonly clock: SimProcess;

  constructor(clock: SimProcess) {
    this.clock = clock;
  }

  isLeader(): boolean {
    return this.leader;
  }

  meta() {
    return this.machine.grid;
  }

  async propose(command: GridCommand): Promise<CommandResult> {
    await Promise.resolve();
    this.log.push(command);
    const body = encodeCommand({ command: command as KvCommand });
    const data = stampCommand(body, { time: this.clock.now() + this.logAheadMs, storeLimit: null });
    return this.machine.apply({ index: this.machine.appliedIndex + 1, term: 1, kind: 'command', data })
      .result!;
  }

  silence(id: string): void {
    this.silentSince.set(id, this.clock.now());
  }

  hear(id: string): void {
    this.silentSince.delete(id);
  }

  /** The coordination group's configuration. */
  readonly group = new Set<string>();

  groupMembers(): string[] {
    return [...this.group];
  }

  async removeFromGroup(id: string): Promise<void> {
    await Promise.resolve();
    this.group.delete(id);
  }

  /** Members whose recorded process has not answered this leader (null silence). */
  readonly unheard = new Set<string>();

  silenceMs(id: string): number | null {
    if (this.unheard.has(id)) return null;
    const since = this.silentSince.get(id);
    return since === undefined ? 0 : this.clock.now() - since;
  }
}

/** Groups as sets of voters and learners: moves change them as a group's leader would, or fail on demand. */
class FakeExecutor implements MoveExecutor {
  readonly done: string[] = [];
  /** Moves (by description) that fail; `hang` ones never finish. */
  readonly failing = new Set<string>();
  readonly hanging = new Set<string>();
  /** Runs first, as if something else happened meanwhile. */
  before: ((move: PlacementMove) => Promise<void>) | null = null;

  async execute(move: PlacementMove, context: MoveContext): Promise<void> {
    await this.before?.(move);
    const what = describeMove(move);
    if (this.hanging.has(what)) return new Promise(() => {});
    if (this.failing.has(what)) throw new Error(`${what}: the group refused`);
    if (move.type === 'add-learner' && context.incarnationOf(move.member) === undefined) {
      throw new Error(`no incarnation for ${move.member}`);
    }
    this.done.push(what);
  }
}

const MEMBERS = ['a', 'b', 'c'];

function setup(partitions = 6) {
  const time = new VirtualTime();
  const clock = new SimProcess(time);
  const coordination = new FakeCoordination(clock);
  for (const id of MEMBERS) coordination.group.add(id);
  const executor = new FakeExecutor();
  const loop = new PlacementLoop(coordination, executor, clock, {
    failureDetectionMs: 3_000,
    deadMemberTimeoutMs: 10_000,
    moveTimeoutMs: 5_000,
    maxConcurrentMoves: 4,
  });
  const members = MEMBERS.map((id) => ({ id, incarnation: `${id}-1`, address: id }));
  const table = encodePartitionTable(createPartitionTable(partitions, MEMBERS, 3));
  void coordination.propose({ op: 'grid-init', table, replicas: 3, members });
  const runFor = async (ms: number) => {
    const until = time.now + ms;
    while (time.now <= until && (await time.step())) {
      // one event and its continuations
    }
  };
  return { time, clock, coordination, executor, loop, runFor };
}

/** A fourth member, d, joins the grid and is activated. */
async function joinFourth(coordination: FakeCoordination): Promise<void> {
  await coordination.propose({ op: 'grid-join', id: 'd', incarnation: 'd-1', address: 'd' });
  await coordination.propose({ op: 'grid-activate', id: 'd', incarnation: 'd-1' });
}

function spread(table: PartitionTable, ids: readonly string[]) {
  const replicas = ids.map((id) => table.partitions.filter((p) => p.voters.includes(id)).length);
  const leaders = ids.map((id) => table.partitions.filter((p) => p.leader === id).length);
  return {
    replicas: Math.max(...replicas) - Math.min(...replicas),
    leaders: Math.max(...leaders) - Math.min(...leaders),
  };
}

describe('PlacementLoop', () => {
  it('moves replicas and leaderships onto a joined member, recording each move only after it was done', async () => {
    const { coordination, executor, loop, runFor } = setup();
    await runFor(0);
    loop.start();
    await joinFourth(coordination);
    await runFor(30_000);
    const table = coordination.meta().table!;
    expect(table.partitions.every((p) => p.voters.length === 3 && p.learners.length === 0)).toBe(true);
    expect(spread(table, ['a', 'b', 'c', 'd'])).toEqual({ replicas: 1, leaders: 1 });
    const recorded = coordination.log.flatMap((c) =>
      c.op === 'grid-move-applied' ? [describeMove(c.move)] : [],
    );
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded).toEqual(executor.done);
    expect(table.epoch).toBe(1 + recorded.length);
    expect(loop.counters).toMatchObject({ applied: recorded.length, failed: 0 });
  });

  it('leaves the table as it was when a move fails or times out, and plans it again', async () => {
    const { coordination, executor, loop, runFor } = setup();
    await runFor(0);
    await joinFourth(coordination);
    const first = `add-learner d on partition 0`;
    executor.hanging.add(first);
    loop.start();
    await loop.round();
    expect(loop.movesInFlight().map(describeMove)).toContain(first);
    await runFor(4_000);
    expect(coordination.meta().table!.partitions[0]!.learners).toEqual([]);
    // Past the move timeout: dropped, not recorded, and the partition is free for a new plan.
    executor.hanging.delete(first);
    executor.failing.add(first);
    await runFor(2_000);
    expect(loop.counters.failed).toBeGreaterThanOrEqual(2);
    expect(coordination.meta().table!.partitions[0]!.learners).toEqual([]);
    expect(coordination.log.some((c) => c.op === 'grid-move-applied' && c.move.partition === 0)).toBe(false);
    executor.failing.delete(first);
    await runFor(2_000);
    expect(executor.done).toContain(first);
    const replicas = coordination.meta().table!.partitions[0]!;
    expect([...replicas.voters, ...replicas.learners]).toContain('d');
  });

  it('marks a silent member dead, re-creates its replicas past deadMemberTimeoutMs, and does nothing when not leader', async () => {
    const { coordination, clock, loop, runFor } = setup();
    await runFor(0);
    await joinFourth(coordination);
    loop.start();
    await runFor(30_000);
    const balanced = coordination.meta().table!;
    coordination.silence('c');
    const silentFrom = clock.now();
    await runFor(5_000);
    const c = coordination.meta().member('c')!;
    expect(c.deadSince).toBeGreaterThan(silentFrom + 3_000);
    expect(c.deadSince).toBeLessThanOrEqual(silentFrom + 4_000);
    // Dead, not yet past the timeout: its replicas stay, its preferred leaderships move off it.
    const dead = coordination.meta().table!;
    dead.partitions.forEach((p, i) => {
      expect(p.voters).toEqual(balanced.partitions[i]!.voters);
      expect(p.leader).not.toBe('c');
    });
    await runFor(30_000);
    const repaired = coordination.meta().table!;
    expect(repaired.partitions.every((p) => p.voters.length === 3 && !p.voters.includes('c'))).toBe(true);
    expect(spread(repaired, ['a', 'b', 'd']).replicas).toBeLessThanOrEqual(1);
    // Dead past the timeout and holding nothing: out of the coordination group too.
    expect(coordination.groupMembers()).toEqual(['a', 'b']);
    // c is heard from again: marked alive, and it gets replicas back by balancing.
    coordination.hear('c');
    await runFor(30_000);
    expect(coordination.meta().member('c')!.deadSince).toBeNull();
    expect(spread(coordination.meta().table!, ['a', 'b', 'c', 'd']).replicas).toBeLessThanOrEqual(1);
    // Not leader: no marks, no moves.
    coordination.leader = false;
    const logged = coordination.log.length;
    coordination.silence('a');
    await runFor(20_000);
    expect(coordination.log.length).toBe(logged);
  });

  it("times a dead member out by its own clock when the log's time stands ahead of it", async () => {
    const { coordination, clock, loop, runFor } = setup();
    await runFor(0);
    await joinFourth(coordination);
    loop.start();
    await runFor(30_000);
    coordination.logAheadMs = 300_000;
    coordination.silence('c');
    await runFor(5_000);
    expect(coordination.meta().member('c')!.deadSince).toBeGreaterThan(clock.now() + 290_000);
    // The timeout (10 s) runs from when this leader saw the mark, not from the mark's time in the log.
    await runFor(15_000);
    const repaired = coordination.meta().table!;
    expect(repaired.partitions.every((p) => p.voters.length === 3 && !p.voters.includes('c'))).toBe(true);
    expect(coordination.groupMembers()).toEqual(['a', 'b']);
  });

  it('restarts its failure counts when it becomes leader', async () => {
    const { coordination, clock, loop, runFor } = setup();
    await runFor(0);
    coordination.leader = false;
    coordination.silence('b');
    loop.start();
    await runFor(10_000);
    coordination.leader = true;
    const since = clock.now();
    await runFor(2_500);
    expect(coordination.meta().member('b')!.deadSince).toBeNull();
    await runFor(2_000);
    expect(coordination.meta().member('b')!.deadSince).toBeGreaterThan(since + 3_000);
  });

  it('gives a process that just registered a full detection time to answer as itself', async () => {
    const { coordination, clock, loop, runFor } = setup();
    await runFor(0);
    loop.start();
    // Leader for a long time; then c restarts, and its new process answers only once its seat is swapped.
    await runFor(30_000);
    coordination.unheard.add('c');
    await coordination.propose({ op: 'grid-join', id: 'c', incarnation: 'c-2', address: 'c' });
    await runFor(2_500);
    expect(coordination.meta().member('c')!.deadSince).toBeNull();
    coordination.unheard.delete('c');
    await runFor(5_000);
    expect(coordination.meta().member('c')!.deadSince).toBeNull();
    // One that never answers as itself is dead one detection time after it registered.
    coordination.unheard.add('c');
    await coordination.propose({ op: 'grid-join', id: 'c', incarnation: 'c-3', address: 'c' });
    const again = clock.now();
    await runFor(5_000);
    expect(coordination.meta().member('c')!.deadSince).toBeGreaterThan(again + 3_000);
  });

  it('a move whose record the table refuses (another record got there first) is counted failed, table unchanged', async () => {
    const { coordination, executor, loop, runFor } = setup();
    await runFor(0);
    // a leads four partitions of six: the planner moves leaderships off a.
    for (const from of ['b', 'c']) {
      const table = coordination.meta().table!;
      const partition = table.partitions.findIndex((p) => p.leader === from);
      await coordination.propose({
        op: 'grid-move-applied',
        move: { type: 'transfer-leader', partition, from, to: 'a', reason: 'leader-balance' },
        epoch: table.epoch,
      });
    }
    // While the first transfer is carried out, a deposed leader's record moves that leadership elsewhere.
    let competing: { partition: number; to: string } | null = null;
    executor.before = async (move) => {
      if (move.type !== 'transfer-leader' || competing !== null) return;
      const table = coordination.meta().table!;
      const to = table.partitions[move.partition]!.voters.find((id) => id !== move.from && id !== move.to)!;
      competing = { partition: move.partition, to };
      await coordination.propose({ op: 'grid-move-applied', move: { ...move, to }, epoch: table.epoch });
    };
    await loop.round();
    await runFor(100);
    expect(competing).not.toBeNull();
    const { partition, to } = competing!;
    expect(loop.counters.failed).toBe(1);
    expect(coordination.meta().table!.partitions[partition]!.leader).toBe(to);
  });
});
