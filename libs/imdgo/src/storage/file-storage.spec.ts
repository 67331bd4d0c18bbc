import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { FileStorage } from './file-storage.ts';
import { StorageCorruptionError } from './storage-errors.ts';

const entry = (index: number, term = 1, text = `v${index}`): Entry => ({
  index,
  term,
  kind: 'command',
  data: Buffer.from(text),
});
const CONFIG = { voters: ['a', 'b', 'c'], learners: [] };
const range = (from: number, to: number, term = 1): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));

describe('FileStorage', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imdgo-storage-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function reopen(): Promise<{
    storage: FileStorage;
    state: Awaited<ReturnType<FileStorage['load']>>;
  }> {
    const storage = new FileStorage({ dir });
    return { storage, state: await storage.load() };
  }

  it('returns what was saved, with later entries replacing a conflicting tail', async () => {
    const { storage } = await reopen();
    await storage.save({ term: 1, vote: 'a', commit: 0 }, range(1, 5));
    await storage.save({ term: 2, vote: 'b', commit: 3 }, [
      entry(4, 2, 'x'),
      entry(5, 2, 'y'),
      entry(6, 2, 'z'),
    ]);
    await storage.close();
    const { state } = await reopen();
    expect(state.hardState).toEqual({ term: 2, vote: 'b', commit: 3 });
    expect(state.entries.map((e) => [e.index, e.term, Buffer.from(e.data).toString()])).toEqual([
      [1, 1, 'v1'],
      [2, 1, 'v2'],
      [3, 1, 'v3'],
      [4, 2, 'x'],
      [5, 2, 'y'],
      [6, 2, 'z'],
    ]);
  });

  it('drops a torn final record left by a crash mid-write', async () => {
    const { storage } = await reopen();
    await storage.save({ term: 1, vote: null, commit: 0 }, range(1, 3));
    await storage.close();
    const wal = join(dir, 'wal');
    const last = (await readdir(wal)).sort().pop()!;
    // Half a record: a header announcing 100 bytes, and only 10 of them.
    const header = Buffer.alloc(8);
    header.writeUInt32BE(100, 0);
    await appendFile(join(wal, last), Buffer.concat([header, Buffer.alloc(10, 7)]));
    const { storage: again, state } = await reopen();
    expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    await again.save(null, [entry(4)]);
    await again.close();
    expect((await reopen()).state.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  it('refuses to start on a corrupted record in the middle of the log', async () => {
    const { storage } = await reopen();
    await storage.save({ term: 1, vote: null, commit: 0 }, range(1, 3));
    await storage.save(null, range(4, 6));
    await storage.close();
    const wal = join(dir, 'wal');
    const segment = join(wal, (await readdir(wal)).sort()[0]!);
    const bytes = await readFile(segment);
    bytes[12] ^= 0xff; // inside the first record, with more records after it
    await writeFile(segment, bytes);
    await expect(new FileStorage({ dir }).load()).rejects.toBeInstanceOf(StorageCorruptionError);
  });

  it('compacts the log behind a snapshot and deletes covered segments', async () => {
    const storage = new FileStorage({ dir, segmentBytes: 200 });
    await storage.load();
    for (let i = 1; i <= 40; i++) await storage.save({ term: 1, vote: null, commit: i }, [entry(i)]);
    const before = (await readdir(join(dir, 'wal'))).length;
    await storage.saveSnapshot({ index: 30, term: 1, data: Buffer.from('image'), config: CONFIG }, true);
    await storage.save(null, [entry(41)]);
    await storage.close();
    const after = (await readdir(join(dir, 'wal'))).length;
    expect(after).toBeLessThan(before);
    const { state } = await reopen();
    expect(state.snapshot).toMatchObject({ index: 30, term: 1 });
    expect(Buffer.from(state.snapshot!.data).toString()).toBe('image');
    expect(state.entries.map((e) => e.index)).toEqual(range(31, 41).map((e) => e.index));
    expect(state.hardState.commit).toBe(40);
  });

  it('discards the log when an installed snapshot says so', async () => {
    const { storage } = await reopen();
    await storage.save({ term: 1, vote: null, commit: 2 }, range(1, 10));
    await storage.saveSnapshot(
      { index: 5, term: 3, data: Buffer.from('leader image'), config: CONFIG },
      false,
    );
    await storage.close();
    const { state } = await reopen();
    expect(state.snapshot?.index).toBe(5);
    expect(state.entries).toEqual([]);
  });

  it('refuses to start, naming the file, when the commit index is beyond the stored log', async () => {
    const { storage } = await reopen();
    await storage.save({ term: 1, vote: null, commit: 2 }, range(1, 10));
    // The old driver's order, stopped halfway: the hard state of a snapshot install, then a crash.
    await storage.save({ term: 3, vote: null, commit: 20 }, []);
    await storage.close();
    const loading = new FileStorage({ dir }).load();
    await expect(loading).rejects.toBeInstanceOf(StorageCorruptionError);
    await expect(new FileStorage({ dir }).load()).rejects.toThrow(
      /wal\/\d+\.wal: commit index 20 is beyond the last stored index 10/,
    );
  });

  it('keeps a newer snapshot when an older image is saved after it', async () => {
    const { storage } = await reopen();
    await storage.save({ term: 1, vote: null, commit: 12 }, range(1, 12));
    await storage.saveSnapshot({ index: 10, term: 1, data: Buffer.from('new'), config: CONFIG }, true);
    await storage.saveSnapshot({ index: 4, term: 1, data: Buffer.from('old'), config: CONFIG }, true);
    await storage.close();
    const { state } = await reopen();
    expect(state.snapshot?.index).toBe(10);
    expect(state.entries.map((e) => e.index)).toEqual([11, 12]);
  });

  it('writes snapshots atomically and ignores a leftover temp file', async () => {
    const { storage } = await reopen();
    await storage.saveSnapshot({ index: 3, term: 1, data: Buffer.from('a'), config: CONFIG }, true);
    await storage.close();
    await writeFile(join(dir, 'snap', `${'9'.padStart(20, '0')}-9.snap.tmp`), 'half written');
    const { state } = await reopen();
    expect(state.snapshot?.index).toBe(3);
    await expect(stat(join(dir, 'snap', `${'9'.padStart(20, '0')}-9.snap.tmp`))).rejects.toThrow();
  });
});
