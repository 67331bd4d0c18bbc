import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { packEntries, unpackEntries } from './entry-block.ts';

// Buffers, as unpacked entries' data are (the apply decodes them without a view of its own).
const entries: Entry[] = [
  { index: 7, term: 2, kind: 'noop', data: Buffer.alloc(0) },
  { index: 8, term: 3, kind: 'command', data: Buffer.of(0xc1, 1, 2, 3) },
  { index: 9, term: 3, kind: 'config', data: Buffer.from('{"voters":["a:1"]}') },
];
describe('entry blocks', () => {
  it('pack the same entries once for every follower they go to', () => {
    const block = packEntries(entries);
    expect(packEntries([...entries])).toBe(block);
    const other = packEntries([entries[0]!, entries[1]!, { ...entries[2]! }]);
    expect(other).not.toBe(block);
    expect(unpackEntries(other)).toStrictEqual(entries);
  });

  it('refuse a block cut short or with an unknown kind', () => {
    const block = packEntries(entries);
    expect(unpackEntries(block.subarray(0, block.byteLength - 1))).toBeNull();
    expect(unpackEntries(block.subarray(0, 20))).toBeNull();
    const unknownKind = block.slice();
    unknownKind[16] = 3;
    expect(unpackEntries(unknownKind)).toBeNull();
  });

  it('unpack entries as views of the block, not copies of each', () => {
    const block = packEntries(entries);
    const [, command] = unpackEntries(block)!;
    expect(command!.data.buffer).toBe(block.buffer);
  });
});
