import { isDeepStrictEqual } from 'node:util';
import { decodePartitionTable, encodePartitionTable } from '../partition/partition-table-codec.ts';
import { type PartitionTable, tableMembers } from '../partition/partition-table.ts';
import type { PlacementMember } from '../partition/placement-planner.ts';
import { applyMove, type PlacementMove } from '../partition/placement-move.ts';
import type { ChangeEvent } from './change-event.ts';
import type { CommandResult } from './commands.ts';
import { GRID_SPACE, type GridCommand } from './grid-commands.ts';

/** A grid member as the coordination group records it. */
export interface GridMember {
  readonly id: string;
  /** The member's current process: a memory-mode restart joins again with a new one. */
  readonly incarnation: string;
  readonly address: string;
  /** `joining` gets no replicas; `draining` (removeMember) has its replicas moved off. */
  readonly state: 'joining' | 'active' | 'draining';
  /** Log time since which the failure detector finds it unreachable, or null while reachable. */
  readonly deadSince: number | null;
  /**
   * The table's replicas on this id belong to an earlier incarnation, whose memory is gone: placement
   * treats them as lost (re-creates them elsewhere and removes them) before it gives the member new ones.
   */
  readonly staleReplicas: boolean;
}

/** The `value` of a grid command's result. */
export interface GridOutcome {
  /** The table's epoch after the command (0 before formation). */
  readonly epoch: number;
  /** Why the command was refused (`applied: false`). */
  readonly reason?: string;
}

export interface GridMetaExport {
  readonly replicas: number;
  /** The encoded table, or null before formation. */
  readonly table: string | null;
  readonly members: GridMember[];
}

/**
 * The grid's metadata, part of the coordination group's replicated state: its members and the partition
 * table. Only applies change it, and each decides from the log alone, so every replica holds the same.
 */
export class GridMeta {
  private readonly members = new Map<string, GridMember>();
  private partitionTable: PartitionTable | null = null;
  private replicaTarget = 0;

  get table(): PartitionTable | null {
    return this.partitionTable;
  }

  /** Replicas per partition, fixed at formation (0 before). */
  get replicas(): number {
    return this.replicaTarget;
  }

  member(id: string): GridMember | undefined {
    return this.members.get(id);
  }

  memberList(): GridMember[] {
    return [...this.members.values()];
  }

  /**
   * The members as the placement planner sees them: a member whose replicas are stale is left out (lost), and
   * so is a drained one: it holds nothing and gets nothing, and once dead it would count as a member keeping
   * its seats, raising the replica target past the live members, so that a lost replica waits for a
   * replacement no member is left to build.
   */
  placementMembers(): PlacementMember[] {
    return this.memberList()
      .filter((m) => !m.staleReplicas && !this.isDrained(m.id))
      .map((m) =>
        m.deadSince === null
          ? { id: m.id, state: m.state }
          : { id: m.id, state: 'dead', deadSinceMs: m.deadSince },
      );
  }

  /**
   * The replicas an active member holds once placement has filled and balanced the table: every partition's
   * replica target (fewer while the grid has fewer active members) over the active members (dead ones
   * included: their replicas stay until the dead-member timeout), rounded down. Counted from the target,
   * not the table as it is: while a restarted member's stale seats are replaced, partitions short of it
   * would lower the share, and call it placed while some partitions still have two voters.
   */
  replicaShare(): number {
    const partitions = this.partitionTable?.partitions.length ?? 0;
    const active = this.memberList().filter((m) => m.state === 'active').length;
    return Math.floor((partitions * Math.min(this.replicaTarget, active)) / Math.max(active, 1));
  }

  /** Whether a draining member holds no replica any more, so it may leave the grid. */
  isDrained(id: string): boolean {
    const member = this.members.get(id);
    return member?.state === 'draining' && !this.holdsReplicas(id);
  }

  execute(command: GridCommand, revision: number, time: number, changes: ChangeEvent[]): CommandResult {
    const done = (applied: boolean, reason?: string): CommandResult => ({
      applied,
      revision,
      previous: undefined,
      value: { epoch: this.partitionTable?.epoch ?? 0, ...(reason ? { reason } : {}) } satisfies GridOutcome,
      version: 0,
    });
    const setMember = (member: GridMember) => {
      const previous = this.members.get(member.id);
      this.members.set(member.id, member);
      if (!isDeepStrictEqual(previous, member)) {
        changes.push({
          type: 'set',
          map: GRID_SPACE,
          key: `member:${member.id}`,
          value: member,
          previous,
          revision,
        });
      }
    };
    switch (command.op) {
      case 'grid-init': {
        let table: PartitionTable;
        try {
          table = decodePartitionTable(command.table);
        } catch (error) {
          return done(false, (error as Error).message);
        }
        if (this.partitionTable) {
          const same = encodePartitionTable(this.partitionTable) === encodePartitionTable(table);
          return same ? done(true) : done(false, 'the grid is formed already');
        }
        const ids = new Set(command.members.map((m) => m.id));
        const unknown = tableMembers(table).filter((id) => !ids.has(id));
        if (unknown.length > 0) return done(false, `the table names non-members ${unknown.join(', ')}`);
        this.replicaTarget = command.replicas;
        for (const { id, incarnation, address } of command.members) {
          setMember({ id, incarnation, address, state: 'active', deadSince: null, staleReplicas: false });
        }
        this.setTable(table, revision, changes);
        return done(true);
      }
      case 'grid-join': {
        const { id, incarnation, address } = command;
        const known = this.members.get(id);
        if (known?.incarnation === incarnation) {
          if (known.address !== address) setMember({ ...known, address });
          return done(true);
        }
        // A formation member announcing its process: the table's replicas on it are its own.
        if (known?.incarnation === '') {
          setMember({ ...known, incarnation, address });
          return done(true);
        }
        // A new process under a known id lost the old one's memory: its replicas are gone with it.
        setMember({
          id,
          incarnation,
          address,
          state: known?.state === 'draining' ? 'draining' : 'joining',
          deadSince: null,
          staleReplicas: known !== undefined && this.holdsReplicas(id),
        });
        return done(true);
      }
      case 'grid-activate': {
        const known = this.members.get(command.id);
        if (known?.incarnation !== command.incarnation) return done(false, 'no such member incarnation');
        if (known.state === 'draining') return done(false, `${command.id} is draining`);
        if (known.state === 'joining') setMember({ ...known, state: 'active' });
        return done(true);
      }
      case 'grid-drain': {
        const known = this.members.get(command.id);
        if (!known) return done(false, `${command.id} is not a member`);
        setMember({ ...known, state: 'draining' });
        return done(true);
      }
      case 'grid-mark-dead':
      case 'grid-mark-alive': {
        const known = this.members.get(command.id);
        if (known?.incarnation !== command.incarnation) return done(false, 'no such member incarnation');
        const dead = command.op === 'grid-mark-dead';
        // Dead since the first report: a repeated one must not restart the timeout.
        if (dead && known.deadSince === null) setMember({ ...known, deadSince: time });
        if (!dead && known.deadSince !== null) setMember({ ...known, deadSince: null });
        return done(true);
      }
      case 'grid-move-applied':
        return this.moveApplied(command.move, command.epoch, done, setMember, revision, changes);
    }
  }

  private moveApplied(
    move: PlacementMove,
    epoch: number,
    done: (applied: boolean, reason?: string) => CommandResult,
    setMember: (member: GridMember) => void,
    revision: number,
    changes: ChangeEvent[],
  ): CommandResult {
    const table = this.partitionTable;
    if (!table) return done(false, 'the grid is not formed');
    // A retried record of a move already in the table: the table says what it should.
    if (isReflected(table, move)) return done(true);
    if (epoch !== table.epoch)
      return done(false, `planned at epoch ${epoch}, the table is at ${table.epoch}`);
    if (move.type === 'add-learner' && !this.members.has(move.member))
      return done(false, `${move.member} is not a member`);
    let next: PartitionTable;
    try {
      next = applyMove(table, move);
    } catch (error) {
      return done(false, (error as Error).message);
    }
    this.setTable(next, revision, changes);
    if (move.type === 'remove') {
      const member = this.members.get(move.member);
      // The last replica of a lost incarnation is gone: the new one may now get replicas of its own.
      if (member?.staleReplicas && !this.holdsReplicas(member.id))
        setMember({ ...member, staleReplicas: false });
    }
    return done(true);
  }

  /** Whether the table lists `id` in some partition (as voter or learner). */
  holdsReplicas(id: string): boolean {
    return this.partitionTable !== null && tableMembers(this.partitionTable).includes(id);
  }

  private setTable(table: PartitionTable, revision: number, changes: ChangeEvent[]): void {
    const previous = this.partitionTable;
    this.partitionTable = table;
    changes.push({
      type: 'set',
      map: GRID_SPACE,
      key: 'table',
      value: table.epoch,
      previous: previous?.epoch,
      revision,
    });
  }

  export(): GridMetaExport {
    return {
      replicas: this.replicaTarget,
      table: this.partitionTable ? encodePartitionTable(this.partitionTable) : null,
      members: this.memberList().map((m) => ({ ...m })),
    };
  }

  static import(data: GridMetaExport | undefined): GridMeta {
    const meta = new GridMeta();
    if (!data) return meta;
    meta.replicaTarget = data.replicas;
    meta.partitionTable = data.table === null ? null : decodePartitionTable(data.table);
    for (const member of data.members) meta.members.set(member.id, { ...member });
    return meta;
  }
}

/** Whether the table already shows what `move` makes of it (a record that arrives twice). */
function isReflected(table: PartitionTable, move: PlacementMove): boolean {
  const replicas = table.partitions[move.partition];
  if (!replicas) return false;
  switch (move.type) {
    case 'add-learner':
      return replicas.learners.includes(move.member) || replicas.voters.includes(move.member);
    case 'promote':
      return replicas.voters.includes(move.member);
    case 'remove':
      return !replicas.voters.includes(move.member) && !replicas.learners.includes(move.member);
    case 'transfer-leader':
      return replicas.leader === move.to;
  }
}
