import { assert } from './assert.ts';
import type { Entry } from './types.ts';

/**
 * The replicated log as this node holds it in memory. It remembers the lowest index changed since the
 * last Ready, so that the driver persists exactly the appended or overwritten suffix.
 */
export class RaftLog {
  private readonly entries: Entry[] = [];
  committed = 0;
  applied = 0;
  /** Lowest index written since the last `takeUnstable()`; Infinity when nothing is pending. */
  private unstableFrom = Number.POSITIVE_INFINITY;

  constructor(stored: readonly Entry[] = [], committed = 0) {
    for (const entry of stored) {
      assert(entry.index === this.entries.length + 1, `stored log has a gap before index ${entry.index}`);
      this.entries.push(entry);
    }
    this.committed = Math.min(committed, this.lastIndex());
  }

  lastIndex(): number {
    return this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** The term of the entry at `index`; 0 for index 0 and for indexes beyond the log. */
  term(index: number): number {
    if (index <= 0 || index > this.entries.length) return 0;
    return this.entries[index - 1]!.term;
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return index <= this.lastIndex() && this.term(index) === term;
  }

  /** Raft §5.4.1: a candidate's log wins if its last term is newer, or equal with an index at least as high. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  append(entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, `append at ${entry.index} after ${this.lastIndex()}`);
    this.entries.push(entry);
    this.unstableFrom = Math.min(this.unstableFrom, entry.index);
  }

  /**
   * Follower side of AppendEntries after the consistency check passed: skip entries already present,
   * truncate at the first conflicting one and append the rest. Returns the last index now known to
   * match the leader.
   */
  appendFromLeader(prevIndex: number, entries: readonly Entry[]): number {
    for (const entry of entries) {
      const existingTerm = this.term(entry.index);
      if (entry.index <= this.lastIndex() && existingTerm === entry.term) continue;
      if (entry.index <= this.lastIndex()) {
        assert(entry.index > this.committed, `conflict at committed index ${entry.index}`);
        this.entries.length = entry.index - 1;
      }
      this.append(entry);
    }
    return prevIndex + entries.length;
  }

  /**
   * The largest index at or below `index` whose term is at most `term` (etcd's findConflictByTerm). Lets a
   * leader skip a whole term of mismatching entries per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > 0 && this.term(i) > term) i--;
    return i;
  }

  /** Entries from `from` on, stopping once `maxBytes` is reached (always at least one entry if any). */
  slice(from: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = from; i <= this.lastIndex(); i++) {
      const entry = this.entries[i - 1]!;
      bytes += entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Committed entries not yet handed out for applying; marks them applied. */
  takeCommitted(): Entry[] {
    if (this.applied >= this.committed) return [];
    const out = this.entries.slice(this.applied, this.committed);
    this.applied = this.committed;
    return out;
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  takeUnstable(): Entry[] {
    if (this.unstableFrom > this.lastIndex()) {
      this.unstableFrom = Number.POSITIVE_INFINITY;
      return [];
    }
    const out = this.entries.slice(this.unstableFrom - 1);
    this.unstableFrom = Number.POSITIVE_INFINITY;
    return out;
  }
}

/** Index, term and kind as framed on the wire: counted so that many tiny entries still split messages. */
export const ENTRY_OVERHEAD_BYTES = 16;
