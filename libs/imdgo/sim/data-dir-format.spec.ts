import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom, type RandomSource } from '../src/raft/random.ts';
import type { Entry } from '../src/raft/types.ts';
import { DATA_FORMAT_VERSION, FORMAT_FILE } from '../src/storage/data-dir-format.ts';
import { FileStorage } from '../src/storage/file-storage.ts';
import type { RaftStorage } from '../src/storage/raft-storage.ts';
import { SharedWal } from '../src/storage/shared-wal.ts';
import { StorageLayoutError } from '../src/storage/storage-errors.ts';
import { SimCrashError, SimFileSystem } from './sim-file-system.ts';

/** The data directory's format marker: written first on a new directory, checked on every start. */
const DIR = '/data/n1';
const MARKER = `${DIR}/${FORMAT_FILE}`;
/** The harshest crash the simulated disk can pick: every unsynced operation is lost. */
const LOSE_UNSYNCED: RandomSource = { int: () => 0 };

const entries: Entry[] = [1, 2].map((index) => ({
  index,
  term: 1,
  kind: 'command',
  data: Buffer.from(`e${index}`),
}));

const layouts = [
  ['FileStorage (partitions: 1)', 'partitions-1', (fs: SimFileSystem) => new FileStorage({ dir: DIR, fs })],
  [
    'SharedWal (partitioned)',
    'partitioned',
    (fs: SimFileSystem) => new SharedWal({ dataDir: DIR, fs }).storageFor(0),
  ],
] as const satisfies readonly (readonly [string, string, (fs: SimFileSystem) => RaftStorage])[];

async function writeFile(fs: SimFileSystem, path: string, text: string): Promise<void> {
  await fs.mkdir(DIR);
  const file = await fs.open(path, 'w');
  await file.write(Buffer.from(text));
  await file.close();
}

describe.each(layouts)('the data directory format of %s', (_, layout, open) => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']));

  it('marks an empty directory durably, before any log file, and restarts on it', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    const writes: string[] = [];
    const watched = new SimFileSystem({
      random: LOSE_UNSYNCED,
      beforeOperation: ({ name, path }) => void (name === 'open' && writes.push(path)),
    });
    await open(watched).load();
    expect(writes[0]).toBe(`${MARKER}.tmp`);

    const storage = open(fs);
    await storage.load();
    await storage.save({ term: 1, vote: null, commit: 2 }, entries);
    fs.crash();
    const restarted = fs.restart();
    expect(JSON.parse(restarted.durableFiles().get(MARKER)!.toString())).toEqual({
      format: DATA_FORMAT_VERSION,
      layout,
    });
    const state = await open(restarted).load();
    expect(state.entries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('is started on, with or without a marker, wherever a crash strikes the first start', async () => {
    for (let crashAt = 0; crashAt <= 30; crashAt++) {
      for (let seed = 1; seed <= 3; seed++) {
        const fs = new SimFileSystem({
          random: new SeededRandom(seed),
          beforeOperation: ({ index }) => (index === crashAt ? 'crash' : undefined),
        });
        await open(fs)
          .load()
          .catch((error: unknown) => {
            if (!(error instanceof SimCrashError)) throw error;
          });
        fs.crash();
        await expect(open(fs.restart()).load(), `crash at ${crashAt}, seed ${seed}`).resolves.toBeDefined();
      }
    }
  });

  it.each([['wal'], ['node-wal'], ['group-0'], ['snap']])(
    'refuses a directory an earlier release wrote (%s but no marker), naming it',
    async (name) => {
      const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
      await fs.mkdir(`${DIR}/${name}`);
      await writeFile(fs, `${DIR}/incarnation`, 'an earlier one');
      const loading = open(fs).load();
      await expect(loading).rejects.toThrow(StorageLayoutError);
      await expect(loading).rejects.toThrow(
        `${DIR}/${name}: this data directory holds imdgo data but no ${FORMAT_FILE}: an earlier imdgo ` +
          `release wrote it, and this release (data format ${DATA_FORMAT_VERSION}) cannot read it`,
      );
      expect(fs.durableFiles().has(MARKER)).toBe(false);
    },
  );

  it('initialises a directory holding only what is not imdgo data', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    await fs.mkdir(`${DIR}/lost+found`);
    await writeFile(fs, `${DIR}/incarnation`, 'written just before');
    await expect(open(fs).load()).resolves.toBeDefined();
  });

  it('refuses another data format, naming the marker', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    await writeFile(fs, MARKER, JSON.stringify({ format: DATA_FORMAT_VERSION + 1, layout }));
    await expect(open(fs).load()).rejects.toThrow(
      `${MARKER}: this data directory is in data format ${DATA_FORMAT_VERSION + 1}, which this imdgo ` +
        `release (format ${DATA_FORMAT_VERSION}) cannot read`,
    );
  });

  it('refuses a marker it cannot read, naming it', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    await writeFile(fs, MARKER, '{"format":');
    await expect(open(fs).load()).rejects.toThrow(`${MARKER}: not an imdgo format marker`);
  });
});

describe('the data directory layout', () => {
  it('refuses a directory a node with partitions > 1 wrote to a node with partitions: 1', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    await new SharedWal({ dataDir: DIR, fs }).storageFor(0).load();
    await expect(new FileStorage({ dir: DIR, fs }).load()).rejects.toThrow(
      `${MARKER}: this data directory was written by a node started with partitions > 1, this one has ` +
        'partitions: 1. The partition count cannot change',
    );
  });
});
