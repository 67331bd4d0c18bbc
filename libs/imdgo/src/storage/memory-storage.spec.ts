import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { MemoryStorage } from './memory-storage.ts';

const entry = (index: number, term = 1): Entry => ({
  index,
  term,
  kind: 'command',
  data: Uint8Array.of(index, term),
});
const config = { voters: ['a'], learners: [] };

describe('MemoryStorage', () => {
  it('keeps what was saved, a later save replacing the stored log from its first index on', async () => {
    const storage = new MemoryStorage();
    storage.save({ term: 1, vote: 'a', commit: 2 }, [entry(1), entry(2), entry(3)]);
    storage.save(null, [entry(3, 2), entry(4, 2)]);
    storage.save(null, [entry(2, 3)]);
    const { hardState, entries } = await storage.load();
    expect(hardState).toEqual({ term: 1, vote: 'a', commit: 2 });
    expect(entries).toEqual([entry(1), entry(2, 3)]);
  });

  it('after a snapshot keeps only the entries after it, or none, and never what it covers', async () => {
    const storage = new MemoryStorage();
    storage.save(
      null,
      [1, 2, 3, 4].map((i) => entry(i)),
    );
    await storage.saveSnapshot({ index: 2, term: 1, config, data: new Uint8Array() }, true);
    expect((await storage.load()).entries).toEqual([entry(3), entry(4)]);
    await storage.saveSnapshot({ index: 6, term: 2, config, data: new Uint8Array() }, false);
    storage.save(null, [entry(6, 2), entry(7, 2)]);
    const { snapshot, entries } = await storage.load();
    expect(snapshot?.index).toBe(6);
    expect(entries).toEqual([entry(7, 2)]);
    // An image older than the stored one changes nothing.
    await storage.saveSnapshot({ index: 4, term: 1, config, data: new Uint8Array() }, true);
    expect((await storage.load()).snapshot?.index).toBe(6);
  });
});
