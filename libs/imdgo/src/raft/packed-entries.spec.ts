import { describe, expect, it } from 'vitest';
import { PackedEntries } from './packed-entries.ts';
import type { Entry } from './types.ts';

const entry = (index: number, bytes = 3, term = 1): Entry => ({
  index,
  term,
  kind: index % 3 === 0 ? 'noop' : 'command',
  data: new Uint8Array(bytes).fill(index & 0xff),
});

/** Entries as comparable values: toEqual walks a large Uint8Array element by element. */
const plain = (entries: readonly Entry[]) =>
  entries.map(({ index, term, kind, data }) => ({
    index,
    term,
    kind,
    data: Buffer.from(data).toString('hex'),
  }));

function all(packed: PackedEntries): Entry[] {
  const out: Entry[] = [];
  for (let index = packed.end - packed.length; index < packed.end; index++) out.push(packed.get(index));
  return out;
}

describe('PackedEntries', () => {
  it('gives back each entry as pushed, across blocks and for an entry larger than a block', () => {
    const packed = new PackedEntries(5);
    const pushed = [entry(5, 0), entry(6, 40_000), entry(7, 40_000), entry(8, 200_000, 2), entry(9, 1, 3)];
    for (const e of pushed) packed.push(e);
    expect(plain(all(packed))).toEqual(plain(pushed));
    expect(packed.term(8)).toBe(2);
    expect(packed.end).toBe(10);
  });

  it('holds copies: the pushed bytes may change afterwards', () => {
    const packed = new PackedEntries();
    const first = entry(1);
    packed.push(first);
    first.data.fill(0xee);
    expect([...packed.get(1).data]).toEqual([1, 1, 1]);
  });

  it('truncates a suffix without changing what an earlier read returned', () => {
    const packed = new PackedEntries();
    for (let i = 1; i <= 4; i++) packed.push(entry(i));
    const third = packed.get(3);
    packed.truncateFrom(3);
    packed.push(entry(3, 3, 7));
    expect(packed.get(3).term).toBe(7);
    expect(third).toEqual(entry(3));
    expect(() => packed.push(entry(5))).toThrow(/packing entry 5 at 4/);
  });

  it('drops a prefix, and past its end starts again after the dropped index', () => {
    const packed = new PackedEntries();
    for (let i = 1; i <= 4; i++) packed.push(entry(i));
    packed.dropThrough(2);
    expect(all(packed)).toEqual([entry(3), entry(4)]);
    packed.dropThrough(10);
    expect(packed.length).toBe(0);
    packed.push(entry(11));
    expect(all(packed)).toEqual([entry(11)]);
    packed.reset(20);
    expect(packed.end).toBe(20);
  });

  it('keeps order while its columns grow and move, as entries come and the oldest go', () => {
    const packed = new PackedEntries();
    const kept: Entry[] = [];
    for (let i = 1; i <= 1000; i++) {
      const e = entry(i, 1000 + (i % 7), 1 + Math.floor(i / 100));
      packed.push(e);
      kept.push(e);
      if (i % 90 === 0) {
        packed.dropThrough(i - 40);
        kept.splice(0, kept.length - 40);
      }
    }
    expect(plain(all(packed))).toEqual(plain(kept));
    expect(packed.term(1000)).toBe(11);
  });
});
