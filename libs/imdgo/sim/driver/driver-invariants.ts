import type { Entry, NodeId, SoftState } from '../../src/raft/types.ts';
import { majority } from '../../src/raft/quorum.ts';
import type { StoredState } from '../../src/storage/raft-storage.ts';

function sameEntry(a: Entry, b: Entry): boolean {
  return (
    a.term === b.term && a.kind === b.kind && a.index === b.index && Buffer.compare(a.data, b.data) === 0
  );
}

function storedEntry(state: StoredState, index: number): Entry | undefined {
  const offset = state.snapshot?.index ?? 0;
  return state.entries[index - offset - 1];
}

/**
 * Raft's safety properties as seen from outside the production driver: one leader per term, the same entry
 * applied at each index by every process of every node (across restarts), and, where disks survive, every
 * applied entry on a majority of them as they would load after a crash. The first violation is kept.
 */
export class DriverInvariants {
  violation: string | null = null;
  private readonly leaders = new Map<number, NodeId>();
  /** What some process applied at each index: every other must apply the same there. */
  private readonly applied: Entry[] = [];

  onRoleChange(node: NodeId, state: SoftState): void {
    if (state.role !== 'leader') return;
    const previous = this.leaders.get(state.term);
    if (previous !== undefined && previous !== node)
      this.fail(`election safety: ${previous} and ${node} both lead term ${state.term}`);
    this.leaders.set(state.term, node);
  }

  onApplied(node: NodeId, entry: Entry): void {
    const known = this.applied[entry.index];
    if (known === undefined) {
      this.applied[entry.index] = entry;
      return;
    }
    if (!sameEntry(known, entry)) {
      this.fail(
        `state machine safety: ${node} applied term ${entry.term} at index ${entry.index}, another process term ${known.term}`,
      );
    }
  }

  highestApplied(): number {
    return Math.max(0, this.applied.length - 1);
  }

  /** Every applied entry is on a majority of `disks` (in the log, or folded into the snapshot). */
  checkDurability(disks: readonly StoredState[]): void {
    const needed = majority(disks.length);
    for (let index = 1; index < this.applied.length; index++) {
      const entry = this.applied[index];
      if (entry === undefined) continue;
      let stored = 0;
      for (const disk of disks) {
        const onDisk = storedEntry(disk, index);
        if (index <= (disk.snapshot?.index ?? 0) || (onDisk && sameEntry(onDisk, entry))) stored++;
      }
      if (stored < needed) {
        this.fail(`durability: applied entry ${index} is on ${stored} of ${disks.length} disks`);
        return;
      }
    }
  }

  fail(message: string): void {
    this.violation ??= message;
  }
}
