import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { decodeGridCursor, encodeGridCursor, GridPosition } from './grid-cursor.ts';

describe('grid change cursor', () => {
  it('round-trips per-partition revisions compactly, in base64url', () => {
    const revisions = [0, 1, 127, 128, 300_000, 2 ** 40, Number.MAX_SAFE_INTEGER, 5];
    const cursor = encodeGridCursor(revisions);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeGridCursor(cursor, revisions.length)).toEqual(revisions);
    // 16 partitions near revision 10,000: version, count and two bytes each.
    expect(Buffer.from(encodeGridCursor(Array.from({ length: 16 }, () => 10_000)), 'base64url')).toHaveLength(
      34,
    );
  });

  it('refuses a cursor of another grid, of another version, truncated, or not a cursor, with a clear error', () => {
    const cursor = encodeGridCursor([3, 4]);
    expect(() => decodeGridCursor(cursor, 3)).toThrow(/for 2 partitions, this grid has 3/);
    const bytes = Buffer.from(cursor, 'base64url');
    expect(() => decodeGridCursor(Buffer.from([9, ...bytes.subarray(1)]).toString('base64url'), 2)).toThrow(
      /unknown change cursor version/,
    );
    expect(() => decodeGridCursor(bytes.subarray(0, 3).toString('base64url'), 2)).toThrow(/truncated/);
    expect(() => decodeGridCursor(`${cursor}AA`, 2)).toThrow(/trailing bytes/);
    expect(() => decodeGridCursor('not a cursor!', 2)).toThrow(InvalidArgumentError);
    const huge = Buffer.from([1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).toString(
      'base64url',
    );
    expect(() => decodeGridCursor(huge, 1)).toThrow(/out of range/);
  });

  it('GridPosition keeps the newest revision per partition and resumes from a cursor', () => {
    const position = new GridPosition(3);
    position.advance(1, 7);
    position.advance(1, 5);
    position.advance(2, 1);
    const resumed = new GridPosition(3, position.cursor());
    expect([0, 1, 2].map((p) => resumed.revision(p))).toEqual([0, 7, 1]);
  });
});
