import { assert } from './assert.ts';
import type { Entry, EntryKind } from './types.ts';

const KINDS: readonly EntryKind[] = ['command', 'noop', 'config'];
/** Bytes of each shared block of entry data; a larger entry gets a block of its own. */
const BLOCK_BYTES = 64 * 1024;
const INITIAL_CAPACITY = 64;

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
  /**
   * Per entry, from position `base` on: typed arrays, whose contents are off V8's heap and never copied by
   * a collection, where arrays of numbers grew by copies that outlived young-generation collections.
   */
  private terms = new Float64Array(INITIAL_CAPACITY);
  private kinds = new Uint8Array(INITIAL_CAPACITY);
  private blockIds = new Float64Array(INITIAL_CAPACITY);
  private starts = new Uint32Array(INITIAL_CAPACITY);
  private lengths = new Uint32Array(INITIAL_CAPACITY);
  private base = 0;
  private count = 0;
  /** The blocks entries point into, the first being block `firstBlockId`; the last is being filled. */
  private blocks: Uint8Array[] = [];
  private firstBlockId = 0;
  /** Bytes of the last block taken. */
  private used = 0;

  constructor(first = 1) {
    this.first = first;
  }

  get length(): number {
    return this.count;
  }

  /** Index after the last entry held. */
  get end(): number {
    return this.first + this.count;
  }

  push(entry: Entry): void {
    assert(entry.index === this.end, `packing entry ${entry.index} at ${this.end}`);
    const bytes = entry.data.byteLength;
    if (this.blocks.length === 0 || this.used + bytes > BLOCK_BYTES) {
      this.blocks.push(new Uint8Array(Math.max(bytes, BLOCK_BYTES)));
      this.used = 0;
    }
    const blockId = this.firstBlockId + this.blocks.length - 1;
    const start = this.used;
    this.blocks[this.blocks.length - 1]!.set(entry.data, start);
    this.used += bytes;
    if (this.base + this.count === this.terms.length) this.makeRoom();
    const at = this.base + this.count++;
    this.terms[at] = entry.term;
    this.kinds[at] = KINDS.indexOf(entry.kind);
    this.blockIds[at] = blockId;
    this.starts[at] = start;
    this.lengths[at] = bytes;
  }

  term(index: number): number {
    return this.terms[this.base + index - this.first]!;
  }

  get(index: number): Entry {
    const i = index - this.first;
    assert(i >= 0 && i < this.count, `entry ${index} is not packed here`);
    const at = this.base + i;
    const start = this.starts[at]!;
    return {
      index,
      term: this.terms[at]!,
      kind: KINDS[this.kinds[at]!]!,
      data: this.blocks[this.blockIds[at]! - this.firstBlockId]!.subarray(start, start + this.lengths[at]!),
    };
  }

  /** Drops the entries at `index` and after. */
  truncateFrom(index: number): void {
    // The block being filled is not rewound: a dropped entry's view, still held elsewhere, stays intact.
    this.count = Math.min(this.count, Math.max(0, index - this.first));
  }

  /** Drops the entries up to `index`; with none left, the next one pushed is `index + 1` or later. */
  dropThrough(index: number): void {
    const drop = Math.min(this.count, index - this.first + 1);
    if (drop <= 0) return;
    this.base += drop;
    this.count -= drop;
    this.first += drop;
    if (this.count === 0) {
      this.first = Math.max(this.first, index + 1);
      this.base = 0;
    }
    // Blocks before the first entry's are no longer read (the one being filled is kept).
    const firstUsed = this.count > 0 ? this.blockIds[this.base]! : this.firstBlockId + this.blocks.length - 1;
    const unused = Math.max(0, firstUsed - this.firstBlockId);
    if (unused > 0) {
      this.blocks = this.blocks.slice(unused);
      this.firstBlockId += unused;
    }
  }

  /** Drops everything; the next entry pushed is `first`. */
  reset(first: number): void {
    this.first = first;
    this.base = 0;
    this.count = 0;
    this.firstBlockId += this.blocks.length;
    this.blocks = [];
  }

  /** Moves the entries to the start of their columns, or doubles the columns when they fill most. */
  private makeRoom(): void {
    const capacity = this.count * 2 > this.terms.length ? this.terms.length * 2 : this.terms.length;
    const move = <T extends Float64Array | Uint8Array | Uint32Array>(column: T, fresh: T): T => {
      fresh.set(column.subarray(this.base, this.base + this.count));
      return fresh;
    };
    this.terms = move(this.terms, new Float64Array(capacity));
    this.kinds = move(this.kinds, new Uint8Array(capacity));
    this.blockIds = move(this.blockIds, new Float64Array(capacity));
    this.starts = move(this.starts, new Uint32Array(capacity));
    this.lengths = move(this.lengths, new Uint32Array(capacity));
    this.base = 0;
  }
}
