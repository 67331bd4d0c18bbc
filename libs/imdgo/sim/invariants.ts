import type { Entry, NodeId, Ready } from '../src/raft/types.ts';
import { majority } from '../src/raft/quorum.ts';
import { diskEntry, type SimNode } from './sim-node.ts';

function sameEntry(a: Entry | undefined, b: Entry | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.term !== b.term || a.kind !== b.kind || a.index !== b.index) return false;
  return Buffer.compare(a.data, b.data) === 0;
}

/**
 * Raft's safety properties (Figure 3), checked as the run goes. The first violation is kept; the run
 * stops there and reports it with its seed.
 */
export class InvariantChecker {
  violation: string | null = null;
  private readonly leaders = new Map<number, NodeId>();
  /** Every entry any node has applied, by index: once committed it must never differ. */
  private readonly committed: Entry[] = [];
  /**
   * The lowest term in which some node is known to have applied each entry: an upper bound of the term
   * it was committed in. Leaders of later terms must hold it; a stale leader of an earlier term need not.
   */
  private readonly committedByTerm: number[] = [];

  /** Election safety, and leader completeness at the moment a leader appears. */
  onReady(node: SimNode, ready: Ready): void {
    const soft = ready.softState;
    if (!soft || soft.role !== 'leader') return;
    const previous = this.leaders.get(soft.term);
    if (previous !== undefined && previous !== node.id) {
      this.fail(`election safety: ${previous} and ${node.id} both lead term ${soft.term}`);
      return;
    }
    this.leaders.set(soft.term, node.id);
    for (let index = 1; index < this.committed.length; index++) {
      if (this.committedByTerm[index]! >= soft.term) continue;
      // Folded into the new leader's snapshot: a snapshot holds only committed state.
      if (index <= node.raft.log.offset) continue;
      if (!sameEntry(this.committed[index], node.raft.log.entry(index))) {
        this.fail(`leader completeness: ${node.id} leads term ${soft.term} without committed entry ${index}`);
        return;
      }
    }
  }

  /** State machine safety: every node applies the same entry at the same index. */
  onApplied(node: SimNode, entry: Entry): void {
    const known = this.committed[entry.index];
    if (known === undefined) {
      // Every node applies in index order, so the record grows without gaps.
      if (entry.index > 1 && this.committed[entry.index - 1] === undefined) {
        this.fail(`${node.id} applied ${entry.index} before any node applied ${entry.index - 1}`);
      }
      this.committed[entry.index] = entry;
      this.committedByTerm[entry.index] = node.raft.term;
      return;
    }
    this.committedByTerm[entry.index] = Math.min(this.committedByTerm[entry.index]!, node.raft.term);
    if (!sameEntry(known, entry)) {
      this.fail(
        `state machine safety: ${node.id} applied term ${entry.term} at index ${entry.index}, another node term ${known.term}`,
      );
    }
  }

  /**
   * Committed entries are never lost: a majority stores each on disk, in its log or folded into its
   * snapshot (checked only where disks are durable: data-directory mode with a fixed membership). Log
   * matching: two logs holding an entry of the same index and term agree on everything before it.
   */
  checkStorage(nodes: readonly SimNode[], durableDisks: boolean): void {
    if (durableDisks) this.checkDurability(nodes);
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) this.checkLogMatching(nodes[i]!, nodes[j]!);
    }
  }

  private checkDurability(nodes: readonly SimNode[]): void {
    const needed = majority(nodes.length);
    for (let index = 1; index < this.committed.length; index++) {
      let stored = 0;
      for (const node of nodes) {
        const inSnapshot = index <= (node.disk.snapshot?.index ?? 0);
        if (inSnapshot || sameEntry(diskEntry(node.disk, index), this.committed[index])) stored++;
      }
      if (stored < needed) {
        this.fail(`durability: committed entry ${index} is on ${stored} disks, fewer than a majority`);
        return;
      }
    }
  }

  highestCommitted(): number {
    return Math.max(0, this.committed.length - 1);
  }

  private checkLogMatching(a: SimNode, b: SimNode): void {
    const from = Math.max(a.disk.snapshot?.index ?? 0, b.disk.snapshot?.index ?? 0) + 1;
    const to = Math.min(
      (a.disk.snapshot?.index ?? 0) + a.disk.entries.length,
      (b.disk.snapshot?.index ?? 0) + b.disk.entries.length,
    );
    let agreeAt = 0;
    for (let index = to; index >= from; index--) {
      if (diskEntry(a.disk, index)!.term === diskEntry(b.disk, index)!.term) {
        agreeAt = index;
        break;
      }
    }
    for (let index = from; index <= agreeAt; index++) {
      if (!sameEntry(diskEntry(a.disk, index), diskEntry(b.disk, index))) {
        this.fail(`log matching: ${a.id} and ${b.id} agree at ${agreeAt} but differ at ${index}`);
        return;
      }
    }
  }

  private fail(message: string): void {
    this.violation ??= message;
  }
}
