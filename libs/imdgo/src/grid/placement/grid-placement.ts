import { Logger } from '@nestjs/common';
import { delay, type Scheduler, type TimerHandle } from '../../driver/scheduler.ts';
import { encodePartitionTable } from '../../partition/partition-table-codec.ts';
import { tableMembers } from '../../partition/partition-table.ts';
import type { NodeId } from '../../raft/types.ts';
import type { ChangeEvent } from '../../state-machine/change-event.ts';
import { GRID_SPACE, type GridCommand } from '../../state-machine/grid-commands.ts';
import type { GridMember, GridOutcome } from '../../state-machine/grid-meta.ts';
import type { PeerTransport } from '../../transport/peer-transport.ts';
import type { PlacementMove } from '../../partition/placement-move.ts';
import { StoppedError } from '../../errors.ts';
import type { GridNode } from '../grid-node.ts';
import type { Coordination } from './coordination.ts';
import { LeadershipNudger } from './leadership-nudger.ts';

import { PlacementLoop, type PlacementLoopOptions } from './placement-loop.ts';
import { RaftMoveExecutor } from './raft-move-executor.ts';

/** Keys of the member records in the coordination group's GRID_SPACE. */
const MEMBER_KEY = 'member:';

export interface GridPlacementOptions extends PlacementLoopOptions {
  readonly incarnation: string;
  /** The node's transport (the GridNode's), for moves on groups this node holds no replica of. */
  readonly transport: PeerTransport;
  readonly scheduler: Scheduler;
  /** Replicas per partition, as the GridNode formed its table with. */
  readonly replicas: number;
  /** One request to a remote replica, and how often a learner's catch-up is checked (ms). */
  readonly requestTimeoutMs: number;
  readonly pollMs: number;
}

/**
 * Placement on a GridNode: the grid's metadata lives in its coordination group, the node routes by the
 * table placement records there (adopting each new epoch, which creates and destroys its groups), and the
 * coordination leader's PlacementLoop moves replicas. Pass `onCoordinationChange` to the GridNode's options,
 * then `start` once the GridNode started.
 */
export class GridPlacement {
  private readonly options: GridPlacementOptions;
  private readonly logger = new Logger('GridPlacement');
  private grid: GridNode | null = null;
  private loop: PlacementLoop | null = null;
  private nudgeTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(options: GridPlacementOptions) {
    this.options = options;
  }

  /**
   * The GridNode's `onCoordinationChange`: a new table is routed by at once, and planned from; a member
   * record of this node may let it host (or stop hosting); a member seen as a new incarnation lost its
   * process, which every group here is told.
   */
  readonly onCoordinationChange = (change: ChangeEvent): void => {
    if (change.map !== GRID_SPACE || this.grid === null) return;
    const grid = this.grid;
    const table = grid.coordination.machine.grid.table;
    if (change.key === 'table' && table !== null) {
      grid
        .adoptTable(table)
        .catch((error: Error) => this.logger.warn(`adopting table ${table.epoch}: ${error.message}`));
    }
    if (change.key === `${MEMBER_KEY}${grid.id}`) void grid.rehost();
    else if (change.key.startsWith(MEMBER_KEY)) {
      const before = change.previous as GridMember | undefined;
      const after = change.value as GridMember | undefined;
      // '' is a formation member not yet announced: its first incarnation is no restart.
      if (before && after && before.incarnation !== '' && before.incarnation !== after.incarnation)
        grid.peerLost(after.id);
    }
    this.loop?.poke();
  };

  /**
   * Records the formation table (if the grid has none yet) and this process, then runs the placement loop.
   * Give the GridNode `awaitTable`: it then routes and hosts only by the tables recorded here. A node that
   * joins a formed grid (or restarts in memory mode) catches up with the coordination group first, so it
   * adopts the grid's table and never proposes its own.
   */
  async start(grid: GridNode): Promise<void> {
    this.grid = grid;
    const self = grid.id;
    const { incarnation } = this.options;
    // The table's listings of this id are this process's only once the metadata knows it as this one (a
    // formation member not yet announced, '', takes them as its own, as grid-join does), and not while they
    // are an earlier one's (stale). Before the metadata reached this node there is no record to go by: a
    // table adopted through a redirect must not seat a restarted process in its predecessor's place.
    await grid.hostOnlyWhile(() => {
      const me = grid.coordination.machine.grid.member(self);
      if (me === undefined) return false;
      return (me.incarnation === incarnation || me.incarnation === '') && !me.staleReplicas;
    });
    await this.catchUp();
    // Caught up: a record restored without a change event (a snapshot) may open hosting now.
    await grid.rehost();
    if (grid.coordination.machine.grid.table === null) {
      const formation = grid.formationTable();
      const members = tableMembers(formation).map((id) => ({
        id,
        incarnation: id === self ? incarnation : '',
        address: id,
      }));
      const init: GridCommand = {
        op: 'grid-init',
        table: encodePartitionTable(formation),
        replicas: this.options.replicas,
        members,
      };
      // Every formation member proposes the same table: the first one applied forms the grid.
      const result = await this.propose(init);
      const reason = (result.value as GridOutcome).reason;
      if (!result.applied && reason !== 'the grid is formed already') throw new Error(`formation: ${reason}`);
    }
    await this.propose({ op: 'grid-join', id: self, incarnation, address: self });
    await this.propose({ op: 'grid-activate', id: self, incarnation });
    const coordination: Coordination = {
      isLeader: () => grid.coordination.isLeader(),
      meta: () => grid.coordination.machine.grid,
      propose: (command) => grid.coordination.write(command),
      silenceMs: (id) => {
        if (id === self) return 0;
        // Contact is the recorded process's only once it answered as that one: a restart not registered
        // yet talks under the same id, and would revive its dead predecessor, which placement would then
        // seat as a learner no process can be, its promotions waiting out the move timeout.
        const recorded = grid.coordination.machine.grid.member(id)?.incarnation ?? '';
        if (recorded !== '' && grid.coordination.answeringIncarnation(id) !== recorded) return null;
        return grid.coordination.localStatus().members.find((m) => m.id === id)?.lastContactMs ?? null;
      },
      groupMembers: () => grid.coordination.localStatus().members.map((m) => m.id),
      removeFromGroup: (id) => grid.coordination.changeMembership({ type: 'remove', id }),
    };
    const executor = new RaftMoveExecutor({
      localReplica: (partition) => grid.replica(partition),
      transport: this.options.transport,
      scheduler: this.options.scheduler,
      pollMs: this.options.pollMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      moveTimeoutMs: this.options.moveTimeoutMs ?? 60_000,
    });
    // Stopped while it registered: nothing more to start.
    if (this.stopped) return;
    this.loop = new PlacementLoop(coordination, executor, this.options.scheduler, this.options);
    this.loop.start();
    const leaderships = new LeadershipNudger(self, this.options.scheduler, 2_000);
    this.nudgeTimer = this.options.scheduler.setInterval(() => {
      try {
        leaderships.nudge(grid.coordination.machine.grid, (partition) => grid.replica(partition));
      } catch (error) {
        // The grid stopped under placement (a crash, or a shutdown in progress): placement ends with it.
        if (!(error instanceof StoppedError)) throw error;
        this.stop();
      }
    }, this.options.intervalMs ?? 1_000);
    const table = grid.coordination.machine.grid.table;
    if (table !== null) await grid.adoptTable(table);
  }

  stop(): void {
    this.stopped = true;
    this.loop?.stop();
    if (this.nudgeTimer !== null) this.options.scheduler.clearInterval(this.nudgeTimer);
  }

  /** `removeMember` in partitioned mode: drains `id` and resolves once it holds no replica. */
  async removeMember(id: NodeId, timeoutMs: number): Promise<void> {
    const grid = this.requireGrid();
    const result = await grid.coordination.write({ op: 'grid-drain', id });
    if (!result.applied) throw new Error((result.value as GridOutcome).reason);
    const deadline = this.options.scheduler.monotonic() + timeoutMs;
    while (!grid.coordination.machine.grid.isDrained(id)) {
      if (this.stopped) throw new StoppedError();
      if (this.options.scheduler.monotonic() > deadline)
        throw new Error(`${id} still holds replicas after ${timeoutMs} ms`);
      await delay(this.options.scheduler, this.options.pollMs);
    }
  }

  /** The moves this node's placement loop is carrying out (only the coordination leader's loop moves). */
  movesInProgress(): PlacementMove[] {
    return this.loop?.movesInFlight() ?? [];
  }

  private requireGrid(): GridNode {
    if (this.grid === null) throw new Error('placement is not started');
    return this.grid;
  }

  /** Resolves once this node's coordination replica applied everything committed before the call. */
  private async catchUp(): Promise<void> {
    const grid = this.requireGrid();
    for (;;) {
      try {
        return await grid.coordination.linearizableBarrier();
      } catch (error) {
        if (this.stopped) throw error;
        this.logger.debug(`catching up with the coordination group: ${(error as Error).message}`);
        await delay(this.options.scheduler, this.options.pollMs);
      }
    }
  }

  /** A grid command through the coordination group, retried while it has no leader. */
  private async propose(command: GridCommand) {
    const grid = this.requireGrid();
    for (;;) {
      try {
        return await grid.coordination.write(command);
      } catch (error) {
        if (this.stopped) throw error;
        this.logger.debug(`${command.op} retried: ${(error as Error).message}`);
        await delay(this.options.scheduler, this.options.pollMs);
      }
    }
  }
}
