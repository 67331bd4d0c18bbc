import { Logger } from '@nestjs/common';
import { delay, type Scheduler, type TimerHandle } from '../../driver/scheduler.ts';
import { encodePartitionTable } from '../../partition/partition-table-codec.ts';
import { tableMembers } from '../../partition/partition-table.ts';
import type { NodeId } from '../../raft/types.ts';
import type { ChangeEvent } from '../../state-machine/change-event.ts';
import { GRID_SPACE, type GridCommand } from '../../state-machine/grid-commands.ts';
import type { GridOutcome } from '../../state-machine/grid-meta.ts';
import type { PeerTransport } from '../../transport/peer-transport.ts';
import type { GridNode } from '../grid-node.ts';
import type { Coordination } from './coordination.ts';
import { LeadershipNudger } from './leadership-nudger.ts';
import { PlacementLoop, type PlacementLoopOptions } from './placement-loop.ts';
import { RaftMoveExecutor } from './raft-move-executor.ts';

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

  constructor(options: GridPlacementOptions) {
    this.options = options;
  }

  /** The GridNode's `onCoordinationChange`: a new table is routed by at once, and planned from. */
  readonly onCoordinationChange = (change: ChangeEvent): void => {
    if (change.map !== GRID_SPACE || this.grid === null) return;
    const table = this.grid.coordination.machine.grid.table;
    if (change.key === 'table' && table !== null) {
      this.grid
        .adoptTable(table)
        .catch((error: Error) => this.logger.warn(`adopting table ${table.epoch}: ${error.message}`));
    }
    this.loop?.poke();
  };

  /** Records the formation table (if no node did yet) and this process, then runs the placement loop. */
  async start(grid: GridNode): Promise<void> {
    this.grid = grid;
    const self = grid.id;
    const { incarnation } = this.options;
    const formation = grid.table();
    const members = tableMembers(formation).map((id) => ({
      id,
      incarnation: id === self ? incarnation : '',
      address: id,
    }));
    if (grid.coordination.machine.grid.table === null) {
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
      silenceMs: (id) =>
        id === self
          ? 0
          : (grid.coordination.localStatus().members.find((m) => m.id === id)?.lastContactMs ?? null),
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
    this.loop = new PlacementLoop(coordination, executor, this.options.scheduler, this.options);
    this.loop.start();
    const leaderships = new LeadershipNudger(self, this.options.scheduler, 2_000);
    this.nudgeTimer = this.options.scheduler.setInterval(
      () => leaderships.nudge(grid.coordination.machine.grid, (partition) => grid.replica(partition)),
      this.options.intervalMs ?? 1_000,
    );
    const table = grid.coordination.machine.grid.table;
    if (table !== null) await grid.adoptTable(table);
  }

  stop(): void {
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
      if (this.options.scheduler.monotonic() > deadline)
        throw new Error(`${id} still holds replicas after ${timeoutMs} ms`);
      await delay(this.options.scheduler, this.options.pollMs);
    }
  }

  private requireGrid(): GridNode {
    if (this.grid === null) throw new Error('placement is not started');
    return this.grid;
  }

  /** A grid command through the coordination group, retried while it has no leader. */
  private async propose(command: GridCommand) {
    const grid = this.requireGrid();
    for (;;) {
      try {
        return await grid.coordination.write(command);
      } catch (error) {
        this.logger.debug(`${command.op} retried: ${(error as Error).message}`);
        await delay(this.options.scheduler, this.options.pollMs);
      }
    }
  }
}
