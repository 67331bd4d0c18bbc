import { assert } from './assert.ts';
import type { Entry, EntryKind } from './types.ts';

const KINDS: readonly EntryKind[] = ['command', 'noop', 'config'];
/** Bytes of each shared block of entry data; a larger entry gets a block of its own. */
const BLOCK_BYTES = 64 * 1024;

/**
 * Consecutive log entries kept as columns, their data copied into shared blocks, rather than as an
 * object and a view each: a log keeps every entry for thousands of writes after it is applied (until a
 * snapshot, and `snapshotTrailingEntries` after it), so those two objects per entry and node lived through
 * young-generation collections, each copying and scanning them (`node bench/imdgo/write-holders.ts` shows
 * what holds the writes' survivors, `node bench/imdgo/write-allocation.ts --survived` the pauses). An
 * entry read back is a fresh object over a view of its block.
 */
export class PackedEntries {
  /** Index of the first entry held; the next one pushed when empty. */
  private first: number;
  private terms: number[] = [];
  private kinds: number[] = [];
  private blocks: Uint8Array[] = [];
  private starts: number[] = [];
  private lengths: number[] = [];
  private block = new Uint8Array(0);
  private used = 0;

  constructor(first = 1) {
    this.first = first;
  }

  get length(): number {
    return this.terms.length;
  }

  /** Index after the last entry held. */
  get end(): number {
    return this.first + this.terms.length;
  }

  push(entry: Entry): void {
    assert(entry.index === this.end, `packing entry ${entry.index} at ${this.end}`);
    const bytes = entry.data.byteLength;
    let block = this.block;
    if (bytes > BLOCK_BYTES) block = new Uint8Array(bytes);
    else if (this.used + bytes > block.byteLength) {
      block = this.block = new Uint8Array(BLOCK_BYTES);
      this.used = 0;
    }
    const start = block === this.block ? this.used : 0;
    block.set(entry.data, start);
    if (block === this.block) this.used += bytes;
    this.terms.push(entry.term);
    this.kinds.push(KINDS.indexOf(entry.kind));
    this.blocks.push(block);
    this.starts.push(start);
    this.lengths.push(bytes);
  }

  term(index: number): number {
    return this.terms[index - this.first]!;
  }

  get(index: number): Entry {
    const i = index - this.first;
    assert(i >= 0 && i < this.terms.length, `entry ${index} is not packed here`);
    const start = this.starts[i]!;
    return {
      index,
      term: this.terms[i]!,
      kind: KINDS[this.kinds[i]!]!,
      data: this.blocks[i]!.subarray(start, start + this.lengths[i]!),
    };
  }

  /** Drops the entries at `index` and after. */
  truncateFrom(index: number): void {
    const keep = Math.max(0, index - this.first);
    if (keep >= this.terms.length) return;
    for (const column of this.columns()) column.length = keep;
    // The current block's tail is not reused: a dropped entry's view, still held elsewhere, stays intact.
  }

  /** Drops the entries up to `index`; with none left, the next one pushed is `index + 1` or later. */
  dropThrough(index: number): void {
    const drop = Math.min(this.terms.length, index - this.first + 1);
    if (drop <= 0) return;
    this.terms = this.terms.slice(drop);
    this.kinds = this.kinds.slice(drop);
    this.blocks = this.blocks.slice(drop);
    this.starts = this.starts.slice(drop);
    this.lengths = this.lengths.slice(drop);
    this.first += drop;
    if (this.terms.length === 0) this.first = Math.max(this.first, index + 1);
  }

  /** Drops everything; the next entry pushed is `first`. */
  reset(first: number): void {
    for (const column of this.columns()) column.length = 0;
    this.first = first;
  }

  private columns(): unknown[][] {
    return [this.terms, this.kinds, this.blocks, this.starts, this.lengths];
  }
}
