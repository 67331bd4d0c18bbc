import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/raft/random.ts';
import type { Entry } from '../src/raft/types.ts';
import { FileStorage } from '../src/storage/file-storage.ts';
import type { RaftStorage } from '../src/storage/raft-storage.ts';
import { SharedWal } from '../src/storage/shared-wal.ts';
import { SimFileSystem } from './sim-file-system.ts';

const entries = (from: number, to: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    index: from + i,
    term: 1,
    kind: 'command',
    data: Buffer.from(`e${from + i}`),
  }));

function countingDisk(): { fs: SimFileSystem; syncs: () => number } {
  let syncs = 0;
  const fs = new SimFileSystem({
    random: new SeededRandom(1),
    beforeOperation: ({ name }) => {
      if (name === 'datasync' || name === 'sync') syncs++;
      return undefined;
    },
  });
  return { fs, syncs: () => syncs };
}

describe.each<[string, (fs: SimFileSystem) => RaftStorage]>([
  ['FileStorage', (fs) => new FileStorage({ dir: '/data/n1', fs })],
  ['SharedWal', (fs) => new SharedWal({ dataDir: '/data/n1', fs }).storageFor(0)],
])('%s', (_, open) => {
  it('writes a hard state that only moves the commit index without an fsync; entries, terms and votes get one', async () => {
    const disk = countingDisk();
    const storage = open(disk.fs);
    await storage.load();
    await storage.save({ term: 1, vote: 'a', commit: 0 }, entries(1, 3));

    const before = disk.syncs();
    await storage.save({ term: 1, vote: 'a', commit: 3 }, []);
    expect(disk.syncs() - before).toBe(0);

    await storage.save(null, entries(4, 4));
    expect(disk.syncs() - before).toBe(1);
    await storage.save({ term: 2, vote: 'a', commit: 3 }, []);
    expect(disk.syncs() - before).toBe(2);
    await storage.save({ term: 2, vote: 'b', commit: 3 }, []);
    expect(disk.syncs() - before).toBe(3);
    await storage.close();
  });
});
