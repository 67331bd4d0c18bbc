import { Packr, Unpackr } from 'msgpackr';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import { copyValue } from './copy-value.ts';
import { detachStrings } from './detach-strings.ts';
import { kvRecord, type KvRecord } from './kv-record.ts';

/** The records of a frozen table: what a snapshot image is encoded from. */
export interface FrozenRecords extends Iterable<[string, KvRecord]> {
  readonly size: number;
}

// A record in a chunk: flags (u8), slot (u32), value bytes (u32), accounted size (u32), version, create and
// mod revision (float64 each), the deadline (float64, only with EXPIRES), then the value: UTF-8 for a
// string, msgpack for anything else. The key is not stored: the slot says which key's record it is.
const STRING = 1;
const EXPIRES = 2;
const HEADER = 37;
/** Chunks start small, so that a map of a few keys holds a few kilobytes, and double up to this size. */
const FIRST_CHUNK = 4096;
/** The largest chunk that records share, and the stride of locations: chunk id × stride + offset. */
const CHUNK = 1 << 20;
/** The location of a free slot. */
const NOWHERE = -1;
/** The location of a slot whose record is among the young ones, on V8's heap. */
const YOUNG = -2;
/** Young records kept by default: the keys a busy app rewrites stay objects, cheap to read and replace. */
const YOUNG_RECORDS = 16_384;

const packr = new Packr(msgpackOptions());
const unpackr = new Unpackr(msgpackOptions());

/**
 * One map's records, the latest written as objects on V8's heap and the rest packed into Buffer chunks
 * beside it: the heap keeps for each key its slot in a map of small integers and the slot's location (8
 * bytes in a Float64Array), where a record object and a value string would cost it 176 bytes more and make
 * every full collection trace them. The last `youngRecords` to enter stay objects, so that rewriting and
 * reading a working set costs no encoding; the first to enter are the first appended to a chunk. Records
 * in chunks are never written over, so a frozen copy (index, locations and young records copied, chunks
 * shared) stays valid while the table moves on. A chunk left more than half garbage by overwrites and
 * deletes has its live records moved to the chunk being filled and is dropped; a record names its slot, so
 * moving it updates one number, with no key to decode or look up. A read of a record in a chunk
 * materializes a fresh record and value. Strings are stored as UTF-8, which holds them exactly: every
 * stored string was decoded from UTF-8 (a command or an image).
 */
export class RecordTable {
  private readonly index = new Map<string, number>();
  /** Per slot: where its record is (a chunk location, YOUNG), or NOWHERE for a free slot. */
  private locations = new Float64Array(16);
  private nextSlot = 0;
  private readonly freeSlots: number[] = [];
  /** By slot, in the order they entered. */
  private readonly young = new Map<number, KvRecord>();
  private readonly youngRecords: number;
  private readonly chunks: (Buffer | undefined)[] = [];
  /** Per chunk: bytes of the records a slot still points at. */
  private readonly live: number[] = [];
  /** Per chunk no longer filled: where its last record ends. */
  private readonly filled: number[] = [];
  private readonly freeChunks: number[] = [];
  private current = -1;
  private at = 0;
  private nextChunkBytes = FIRST_CHUNK;
  private evacuating = false;

  constructor(options: { youngRecords?: number | undefined } = {}) {
    this.youngRecords = options.youngRecords ?? YOUNG_RECORDS;
  }

  get size(): number {
    return this.index.size;
  }

  /** Bytes of the chunks the table holds (what a frozen copy also holds is not counted). */
  get chunkBytes(): number {
    let bytes = 0;
    for (const chunk of this.chunks) bytes += chunk?.byteLength ?? 0;
    return bytes;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** The key's record as stored, for the state machine's own use: its value may be the stored object. */
  get(key: string): KvRecord | undefined {
    const slot = this.index.get(key);
    return slot === undefined ? undefined : this.recordAt(slot);
  }

  /** The key's record with a value of its own, which the caller may change: what an app is handed. */
  read(key: string): KvRecord | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    const location = this.locations[slot]!;
    return location === YOUNG ? ownRecord(this.young.get(slot)!) : readRecord(this.chunks, location);
  }

  set(key: string, record: KvRecord): void {
    let slot = this.index.get(key);
    if (slot === undefined) {
      slot = this.newSlot();
      this.index.set(key, slot);
    } else if (this.locations[slot] !== YOUNG) {
      this.release(this.locations[slot]!);
    }
    // A young record rewritten keeps its place: the oldest to enter is the first to go to a chunk.
    this.young.set(slot, record);
    this.locations[slot] = YOUNG;
    if (this.young.size > this.youngRecords) {
      const [oldest, oldestRecord] = this.young.entries().next().value!;
      this.young.delete(oldest);
      this.locations[oldest] = this.append(oldest, oldestRecord);
    }
  }

  delete(key: string): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    this.index.delete(key);
    this.drop(slot);
    // A free slot points nowhere, so that its last record reads as garbage when its chunk is emptied.
    this.locations[slot] = NOWHERE;
    this.freeSlots.push(slot);
    return true;
  }

  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  *[Symbol.iterator](): Generator<[string, KvRecord]> {
    for (const [key, slot] of this.index) yield [key, this.recordAt(slot)];
  }

  /** The records as they are now, whatever the table does next: costs a copy of the index. */
  freeze(): FrozenRecords {
    const index = new Map(this.index);
    const locations = this.locations.slice(0, this.nextSlot);
    const young = new Map(this.young);
    const chunks = this.chunks.slice();
    return {
      size: index.size,
      *[Symbol.iterator]() {
        for (const [key, slot] of index) {
          const location = locations[slot]!;
          yield [key, location === YOUNG ? young.get(slot)! : readRecord(chunks, location)];
        }
      },
    };
  }

  private recordAt(slot: number): KvRecord {
    const location = this.locations[slot]!;
    return location === YOUNG ? this.young.get(slot)! : readRecord(this.chunks, location);
  }

  /** Forgets the slot's record, wherever it is. */
  private drop(slot: number): void {
    const location = this.locations[slot]!;
    if (location === YOUNG) this.young.delete(slot);
    else this.release(location);
  }

  private newSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    if (this.nextSlot === this.locations.length) {
      const grown = new Float64Array(this.locations.length * 2);
      grown.set(this.locations);
      this.locations = grown;
    }
    return this.nextSlot++;
  }

  /** Writes the slot's record into a chunk; answers its location. */
  private append(slot: number, record: KvRecord): number {
    const { value, expiresAt } = record;
    const string = typeof value === 'string';
    const encoded = string ? null : packr.pack(value);
    const valueBytes = string ? Buffer.byteLength(value) : encoded!.byteLength;
    const flags = (string ? STRING : 0) | (expiresAt === undefined ? 0 : EXPIRES);
    const location = this.reserve(recordLength(flags, valueBytes));
    const id = chunkId(location);
    const chunk = this.chunks[id]!;
    let at = location - id * CHUNK;
    chunk[at] = flags;
    chunk.writeUInt32LE(slot, at + 1);
    chunk.writeUInt32LE(valueBytes, at + 5);
    chunk.writeUInt32LE(record.size, at + 9);
    chunk.writeDoubleLE(record.version, at + 13);
    chunk.writeDoubleLE(record.createRevision, at + 21);
    chunk.writeDoubleLE(record.modRevision, at + 29);
    at += HEADER;
    if (expiresAt !== undefined) at = chunk.writeDoubleLE(expiresAt, at);
    // Latin-1 where the string is ASCII (as many bytes as characters): the same bytes, written faster.
    if (string) chunk.write(value, at, valueBytes === value.length ? 'latin1' : 'utf8');
    else chunk.set(encoded!, at);
    return location;
  }

  /** A location for `length` bytes, counted live. */
  private reserve(length: number): number {
    if (length > CHUNK) {
      // A record larger than a shared chunk gets a chunk of its own.
      const id = this.newChunk(length);
      this.filled[id] = length;
      this.live[id] = length;
      return id * CHUNK;
    }
    if (this.current < 0 || this.at + length > this.chunks[this.current]!.byteLength) {
      const previous = this.current;
      if (previous >= 0) this.filled[previous] = this.at;
      this.current = this.newChunk(Math.max(this.nextChunkBytes, length));
      this.at = 0;
      this.nextChunkBytes = Math.min(CHUNK, this.nextChunkBytes * 2);
      // Not while evacuating (one evacuation at a time): a chunk passed over is reclaimed at its next release.
      if (previous >= 0 && !this.evacuating) this.reclaim(previous);
    }
    const location = this.current * CHUNK + this.at;
    this.at += length;
    this.live[this.current]! += length;
    return location;
  }

  private newChunk(bytes: number): number {
    const id = this.freeChunks.pop() ?? this.chunks.length;
    this.chunks[id] = Buffer.allocUnsafeSlow(bytes);
    this.live[id] = 0;
    return id;
  }

  /** The record at `location` is garbage now. */
  private release(location: number): void {
    const id = chunkId(location);
    const chunk = this.chunks[id]!;
    const at = location - id * CHUNK;
    this.live[id]! -= recordLength(chunk[at]!, chunk.readUInt32LE(at + 5));
    if (id !== this.current) this.reclaim(id);
  }

  /**
   * Drops a chunk no record lives in, or moves the records out of one that is more than half garbage: the
   * bytes moved are fewer than the bytes freed, so the cost stays proportional to the writes that made
   * the garbage, and chunks hold about twice the live bytes at most (and the chunk being filled).
   */
  private reclaim(id: number): void {
    const live = this.live[id]!;
    if (this.evacuating || (live > 0 && live * 2 >= this.filled[id]!)) return;
    if (live > 0) this.evacuate(id);
    this.chunks[id] = undefined;
    this.live[id] = 0;
    this.freeChunks.push(id);
  }

  private evacuate(id: number): void {
    const chunk = this.chunks[id]!;
    const end = this.filled[id]!;
    this.evacuating = true;
    try {
      for (let at = 0; at < end;) {
        const length = recordLength(chunk[at]!, chunk.readUInt32LE(at + 5));
        const slot = chunk.readUInt32LE(at + 1);
        if (this.locations[slot] === id * CHUNK + at) {
          const location = this.reserve(length);
          const target = chunkId(location);
          chunk.copy(this.chunks[target]!, location - target * CHUNK, at, at + length);
          this.locations[slot] = location;
        }
        at += length;
      }
    } finally {
      this.evacuating = false;
    }
  }
}

function chunkId(location: number): number {
  return Math.floor(location / CHUNK);
}

function recordLength(flags: number, valueBytes: number): number {
  return HEADER + (flags & EXPIRES ? 8 : 0) + valueBytes;
}

/** A young record with a copy of its value: records are never changed, so one of a primitive is its own. */
function ownRecord(record: KvRecord): KvRecord {
  const { value } = record;
  if (typeof value !== 'object' || value === null) return record;
  const { version, createRevision, modRevision, expiresAt, size } = record;
  return kvRecord(copyValue(value), version, createRevision, modRevision, expiresAt ?? null, size);
}

function readRecord(chunks: readonly (Buffer | undefined)[], location: number): KvRecord {
  const id = chunkId(location);
  const chunk = chunks[id]!;
  const start = location - id * CHUNK;
  const flags = chunk[start]!;
  const valueBytes = chunk.readUInt32LE(start + 5);
  let at = start + HEADER;
  let expiresAt: number | null = null;
  if (flags & EXPIRES) {
    expiresAt = chunk.readDoubleLE(at);
    at += 8;
  }
  const value =
    flags & STRING
      ? chunk.toString('utf8', at, at + valueBytes)
      : // A fresh value each read; its strings copied out of the slices msgpackr decodes them as.
        detachStrings(unpackr.unpack(chunk.subarray(at, at + valueBytes)));
  return kvRecord(
    value,
    chunk.readDoubleLE(start + 13),
    chunk.readDoubleLE(start + 21),
    chunk.readDoubleLE(start + 29),
    expiresAt,
    chunk.readUInt32LE(start + 9),
  );
}
