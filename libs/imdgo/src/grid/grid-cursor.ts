import { InvalidArgumentError } from '../errors.ts';
import { MAX_PARTITIONS } from '../partition/key-partition.ts';

/**
 * A position in the grid's change feed: for every partition, the newest revision already seen. Opaque to
 * users: version 1 is the byte 1, the partition count and each revision as unsigned LEB128 varints, in
 * base64url. A few bytes per partition.
 */
export type GridCursor = string;

const VERSION = 1;

export function encodeGridCursor(revisions: readonly number[]): GridCursor {
  const bytes: number[] = [VERSION];
  writeVarint(bytes, revisions.length);
  for (const revision of revisions) writeVarint(bytes, revision);
  return Buffer.from(bytes).toString('base64url');
}

/** The revisions of a cursor made for a grid of `partitions` partitions; a clear error for anything else. */
export function decodeGridCursor(cursor: GridCursor, partitions: number): number[] {
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]*$/.test(cursor)) {
    throw new InvalidArgumentError('a change cursor is a base64url string returned by the change feed');
  }
  const bytes = Buffer.from(cursor, 'base64url');
  const reader = { bytes, at: 0 };
  if (bytes[0] !== VERSION) throw new InvalidArgumentError('unknown change cursor version');
  reader.at = 1;
  const count = readVarint(reader);
  if (count !== partitions || count > MAX_PARTITIONS) {
    throw new InvalidArgumentError(
      `the change cursor is for ${count} partitions, this grid has ${partitions}`,
    );
  }
  const revisions = Array.from({ length: count }, () => readVarint(reader));
  if (reader.at !== bytes.length) throw new InvalidArgumentError('malformed change cursor: trailing bytes');
  return revisions;
}

/** The cursor of a feed as it goes: advance with every event seen, read `cursor()` at any point. */
export class GridPosition {
  private readonly revisions: number[];

  constructor(partitions: number, from?: GridCursor) {
    this.revisions =
      from === undefined ? Array.from({ length: partitions }, () => 0) : decodeGridCursor(from, partitions);
  }

  advance(partition: number, revision: number): void {
    if (revision > this.revisions[partition]!) this.revisions[partition] = revision;
  }

  revision(partition: number): number {
    return this.revisions[partition]!;
  }

  cursor(): GridCursor {
    return encodeGridCursor(this.revisions);
  }
}

function writeVarint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidArgumentError(`bad cursor revision ${value}`);
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function readVarint(reader: { bytes: Uint8Array; at: number }): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = reader.bytes[reader.at++];
    if (byte === undefined) throw new InvalidArgumentError('malformed change cursor: truncated');
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) break;
      return value;
    }
    scale *= 0x80;
  }
  throw new InvalidArgumentError('malformed change cursor: revision out of range');
}
