/**
 * Storage cost of many Raft groups on one node: N groups each persist one entry at a time (as RaftNode does:
 * the next save only once the last one is durable), for `--seconds`, over the node's SharedWal (one log,
 * one fsync per batch across groups) against one FileStorage per group (one log and one fsync per group).
 * Both run in the same process, alternating, `--rounds` times each.
 *
 *   node bench/multigroup/wal-fsyncs.ts [--groups 64] [--seconds 5] [--rounds 3] [--dir DIR] [--value-bytes 100]
 *
 * Prints, per layout and round: entries made durable per second and fsyncs per second (file and directory
 * syncs counted at the file system), then the median and spread over the rounds, and the load average.
 * `--dir` picks the disk (default the OS temp dir; on tmpfs an fsync costs nothing). Not part of CI.
 */
import { Logger } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Entry } from '../../libs/imdgo/src/raft/types.ts';
import { FileStorage } from '../../libs/imdgo/src/storage/file-storage.ts';
import { nodeFileSystem, type FileSystem } from '../../libs/imdgo/src/storage/file-system.ts';
import type { RaftStorage } from '../../libs/imdgo/src/storage/raft-storage.ts';
import { SharedWal } from '../../libs/imdgo/src/storage/shared-wal.ts';

const { values } = parseArgs({
  options: {
    groups: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
    'value-bytes': { type: 'string', default: '100' },
  },
});
const groups = Number(values.groups);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const valueBytes = Number(values['value-bytes']);
for (const [name, value] of Object.entries({ groups, seconds, rounds, valueBytes })) {
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`--${name} must be a positive number`);
}
Logger.overrideLogger(false);

type Layout = 'shared-wal' | 'log-per-group';

/** The node's file system, counting every fsync it is asked for. */
function countingFileSystem(): { fs: FileSystem; syncs: () => number } {
  let syncs = 0;
  const fs: FileSystem = {
    ...nodeFileSystem,
    async open(path, mode) {
      const file = await nodeFileSystem.open(path, mode);
      return {
        ...file,
        datasync: () => (syncs++, file.datasync()),
        sync: () => (syncs++, file.sync()),
      };
    },
    syncDir: (path) => (syncs++, nodeFileSystem.syncDir(path)),
  };
  return { fs, syncs: () => syncs };
}

async function run(layout: Layout): Promise<{ writesPerSec: number; fsyncsPerSec: number }> {
  const dataDir = await mkdtemp(join(values.dir, 'imdgo-wal-bench-'));
  const { fs, syncs } = countingFileSystem();
  const wal = layout === 'shared-wal' ? new SharedWal({ dataDir, fs }) : null;
  const storages: RaftStorage[] = Array.from({ length: groups }, (_, g) =>
    wal ? wal.storageFor(g) : new FileStorage({ dir: join(dataDir, `group-${g}`), fs }),
  );
  for (const storage of storages) await storage.load();
  const value = Buffer.alloc(valueBytes, 7);
  let writes = 0;
  const measuring = { on: true };
  const startSyncs = syncs();
  const started = performance.now();
  const writers = storages.map(async (storage) => {
    for (let index = 1; measuring.on; index++) {
      const entry: Entry = { index, term: 1, kind: 'command', data: value };
      await storage.save({ term: 1, vote: 'a', commit: index - 1 }, [entry]);
      writes++;
    }
  });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  measuring.on = false;
  await Promise.all(writers);
  const elapsed = (performance.now() - started) / 1000;
  const fsyncs = syncs() - startSyncs;
  for (const storage of storages) await storage.close();
  await rm(dataDir, { recursive: true, force: true });
  return { writesPerSec: writes / elapsed, fsyncsPerSec: fsyncs / elapsed };
}

function summary(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${median.toFixed(0)} (${sorted[0]!.toFixed(0)}-${sorted[sorted.length - 1]!.toFixed(0)})`;
}

const results: Record<Layout, { writes: number[]; fsyncs: number[] }> = {
  'shared-wal': { writes: [], fsyncs: [] },
  'log-per-group': { writes: [], fsyncs: [] },
};
console.log(`${groups} groups, ${seconds} s per run, ${valueBytes}-byte entries, in ${values.dir}`);
console.log(
  `load average before: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (let round = 1; round <= rounds; round++) {
  for (const layout of ['shared-wal', 'log-per-group'] as const) {
    const { writesPerSec, fsyncsPerSec } = await run(layout);
    results[layout].writes.push(writesPerSec);
    results[layout].fsyncs.push(fsyncsPerSec);
    console.log(
      `round ${round} ${layout.padEnd(13)} ${writesPerSec.toFixed(0).padStart(8)} writes/s ${fsyncsPerSec.toFixed(0).padStart(7)} fsyncs/s`,
    );
  }
}
console.log('median (min-max) over the rounds:');
for (const layout of ['shared-wal', 'log-per-group'] as const) {
  const { writes, fsyncs } = results[layout];
  console.log(`  ${layout.padEnd(13)} writes/s ${summary(writes)}, fsyncs/s ${summary(fsyncs)}`);
}
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
