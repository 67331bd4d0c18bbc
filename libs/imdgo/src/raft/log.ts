import { assert } from './assert.ts';
import { PackedEntries } from './packed-entries.ts';
import type { Entry } from './types.ts';

/**
 * The replicated log as this node holds it in memory: entries after `offset`, the index its latest
 * snapshot covers (0 without one). It remembers the lowest index changed since the last Ready, so that the
 * driver persists exactly the appended or overwritten suffix.
 */
export class RaftLog {
  /** Applied and stored entries after `offset`, packed (packed-entries.ts says why). */
  private readonly packed = new PackedEntries();
  /** The entries after the packed ones, as appended: in flight, so sent and applied as these objects. */
  private entries: Entry[] = [];
  /** Index of the last entry folded into a snapshot; entries up to it are gone. */
  offset = 0;
  /** Term of the entry at `offset`, kept for the consistency check of the next append. */
  offsetTerm = 0;
  committed = 0;
  applied = 0;
  /** Lowest index written since the last `takeUnstable()`; Infinity when nothing is pending. */
  private unstableFrom = Number.POSITIVE_INFINITY;

  constructor(
    stored: readonly Entry[] = [],
    committed = 0,
    snapshot: { index: number; term: number } | null = null,
  ) {
    if (snapshot) {
      this.offset = snapshot.index;
      this.offsetTerm = snapshot.term;
      this.applied = snapshot.index;
    }
    this.packed.reset(this.offset + 1);
    for (const entry of stored) {
      assert(entry.index === this.lastIndex() + 1, `stored log has a gap before index ${entry.index}`);
      this.entries.push(entry);
    }
    this.committed = Math.max(this.offset, Math.min(committed, this.lastIndex()));
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.packed.end - 1 + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * The term of the entry at `index`; 0 for index 0 and for indexes beyond the log, -1 for indexes
   * compacted into the snapshot (their terms are no longer known).
   */
  term(index: number): number {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset) return -1;
    if (index > this.lastIndex()) return 0;
    return index < this.packed.end ? this.packed.term(index) : this.entries[index - this.packed.end]!.term;
  }

  entry(index: number): Entry | undefined {
    return index > this.offset && index <= this.lastIndex() ? this.at(index) : undefined;
  }

  /** The entry at `index`, which is in the log. */
  private at(index: number): Entry {
    return index < this.packed.end ? this.packed.get(index) : this.entries[index - this.packed.end]!;
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
  appendFromLeader(
    prevIndex: number,
    entries: readonly Entry[],
    onAppended: (entry: Entry) => void,
    onTruncated: () => void,
  ): number {
    for (const entry of entries) {
      // Compacted entries were committed, so they match the leader's (Log Matching).
      if (entry.index <= this.offset) continue;
      if (entry.index <= this.lastIndex() && this.term(entry.index) === entry.term) continue;
      if (entry.index <= this.lastIndex()) {
        assert(entry.index > this.committed, `conflict at committed index ${entry.index}`);
        // Above the committed index, so above every packed entry.
        this.entries.length = entry.index - this.packed.end;
        onTruncated();
      }
      this.append(entry);
      onAppended(entry);
    }
    return prevIndex + entries.length;
  }

  /**
   * The largest index at or below `index` whose term is at most `term` (etcd's findConflictByTerm). Lets a
   * leader skip a whole term of mismatching entries per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.offset && this.term(i) > term) i--;
    return i;
  }

  /** Entries from `from` on, stopping once `maxBytes` is reached (always at least one entry if any). */
  slice(from: number, maxBytes: number): Entry[] {
    assert(from > this.offset, `entries from ${from} were compacted (snapshot at ${this.offset})`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = from; i <= this.lastIndex(); i++) {
      const entry = this.at(i);
      bytes += entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /** Entries in [from, to], for scanning configuration entries. */
  range(from: number, to: number): Entry[] {
    const out: Entry[] = [];
    for (let i = Math.max(from, this.offset + 1); i <= Math.min(to, this.lastIndex()); i++)
      out.push(this.at(i));
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
    const out: Entry[] = [];
    for (let i = this.applied + 1; i <= this.committed; i++) out.push(this.at(i));
    this.applied = this.committed;
    this.pack();
    return out;
  }

  /** Packs the entries both applied and handed out for storing: no longer in flight. */
  private pack(): void {
    const through = Math.min(this.applied, this.unstableFrom - 1);
    const count = through - this.packed.end + 1;
    if (count <= 0) return;
    for (let i = 0; i < count; i++) this.packed.push(this.entries[i]!);
    this.entries = this.entries.slice(count);
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  takeUnstable(): Entry[] {
    if (this.unstableFrom > this.lastIndex()) {
      this.unstableFrom = Number.POSITIVE_INFINITY;
      return [];
    }
    const out: Entry[] = [];
    for (let i = this.unstableFrom; i <= this.lastIndex(); i++) out.push(this.at(i));
    this.unstableFrom = Number.POSITIVE_INFINITY;
    return out;
  }

  /** Drops entries up to `index`, which a snapshot of the applied state now covers. */
  compact(index: number): void {
    if (index <= this.offset) return;
    assert(index <= this.applied, `compacting to ${index} beyond applied ${this.applied}`);
    this.offsetTerm = this.term(index);
    if (index < this.packed.end) this.packed.dropThrough(index);
    else {
      this.entries = this.entries.slice(index - this.packed.end + 1);
      this.packed.reset(index + 1);
    }
    this.offset = index;
  }

  /** Replaces the whole log with a snapshot from the leader (InstallSnapshot, Raft §7). */
  restore(index: number, term: number): void {
    this.entries = [];
    this.packed.reset(index + 1);
    this.offset = index;
    this.offsetTerm = term;
    this.committed = index;
    this.applied = index;
    this.unstableFrom = Number.POSITIVE_INFINITY;
  }
}

/** Index, term and kind as framed on the wire: counted so that many tiny entries still split messages. */
export const ENTRY_OVERHEAD_BYTES = 16;
