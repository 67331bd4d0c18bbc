import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { FileStorage } from './file-storage.ts';

const range = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    index: from + i,
    term,
    kind: 'command',
    data: Buffer.from(`v${from + i}`),
  }));
const snapshot = (index: number, term: number) => ({
  index,
  term,
  data: Buffer.from('image'),
  config: { voters: ['a', 'b', 'c'], learners: [] },
});

/**
 * Compaction deletes segments a snapshot covers. A later segment may hold the record that cut the log
 * (a conflicting append, an installed snapshot): deleting it while an earlier segment stays would bring
 * the entries it cut back on the next start.
 */
describe('FileStorage compaction', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imdgo-compaction-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function restart(): Promise<{ storage: FileStorage; entries: string[]; snapshotIndex: number }> {
    const storage = new FileStorage({ dir });
    const state = await storage.load();
    return {
      storage,
      entries: state.entries.map((e) => `${e.index}/${e.term}`),
      snapshotIndex: state.snapshot?.index ?? 0,
    };
  }

  it('does not bring back the entries an installed snapshot discarded', async () => {
    const first = await restart();
    await first.storage.save({ term: 1, vote: null, commit: 0 }, range(1, 20, 1));
    await first.storage.close();
    // The restart opens a new segment, where the truncation lands.
    const second = await restart();
    await second.storage.saveSnapshot(snapshot(10, 2), false);
    await second.storage.close();
    const third = await restart();
    expect(third.snapshotIndex).toBe(10);
    expect(third.entries).toEqual([]);
    await third.storage.close();
  });

  it('does not bring back the entries a conflicting append replaced', async () => {
    const first = await restart();
    await first.storage.save({ term: 1, vote: null, commit: 0 }, range(1, 20, 1));
    await first.storage.close();
    const second = await restart();
    await second.storage.save({ term: 2, vote: null, commit: 6 }, range(5, 6, 2));
    // Everything is applied: the snapshot covers the whole log, and the segment holding the replacement.
    await second.storage.saveSnapshot(snapshot(6, 2), true);
    await second.storage.close();
    const third = await restart();
    expect(third.snapshotIndex).toBe(6);
    expect(third.entries).toEqual([]);
    await third.storage.close();
  });
});
