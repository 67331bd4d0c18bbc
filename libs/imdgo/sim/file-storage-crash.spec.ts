import { Logger } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom, type RandomSource } from '../src/raft/random.ts';
import type { Entry, HardState, Snapshot } from '../src/raft/types.ts';
import { FileStorage } from '../src/storage/file-storage.ts';
import { StorageFailedError } from '../src/storage/storage-errors.ts';
import { persistentIncarnation } from '../src/storage/incarnation-file.ts';
import type { StoredState } from '../src/storage/raft-storage.ts';
import { SimCrashError, SimFileSystem, type SimFault } from './sim-file-system.ts';

const DIR = '/data/n1';
/** Small segments, so the workload rolls segments and compaction deletes some. */
const SEGMENT_BYTES = 160;
const SEEDS = 12;
const CONFIG = { voters: ['a', 'b', 'c'], learners: [] };

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  kind: 'command',
  data: Buffer.from(`e${index}t${term}`),
});
const range = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const snapshot = (index: number, term: number): Snapshot => ({
  index,
  term,
  data: Buffer.from(`image@${index}`),
  config: CONFIG,
});

/** What Raft must find after a restart, in comparable form. */
interface Model {
  readonly hardState: HardState;
  readonly snapshot: { index: number; term: number; data: string } | null;
  readonly entries: readonly string[];
}
type Step = (model: Model) => Model;

const describeEntry = (e: Entry): string => `${e.index}/${e.term}/${Buffer.from(e.data).toString()}`;
const indexOf = (described: string): number => Number.parseInt(described, 10);

function modelOf(state: StoredState): Model {
  return {
    hardState: state.hardState,
    snapshot: state.snapshot && {
      index: state.snapshot.index,
      term: state.snapshot.term,
      data: Buffer.from(state.snapshot.data).toString(),
    },
    entries: state.entries.map(describeEntry),
  };
}

/**
 * One storage call and the atomic steps it may have completed when a crash interrupts it: a save writes its
 * entries before its hard state (a torn write may keep the first only), an installed snapshot truncates the
 * log before it writes the snapshot.
 */
interface Operation {
  readonly label: string;
  readonly run: (storage: FileStorage) => Promise<void>;
  readonly steps: readonly Step[];
  /** A save's hard state when it writes no entry. */
  readonly hardStateAlone?: HardState;
}

/** A commit index alone is written without an fsync (must-sync.ts): a crash before the next one may lose it. */
function movesCommitOnly(operation: Operation, before: Model): boolean {
  const next = operation.hardStateAlone;
  return next !== undefined && next.term === before.hardState.term && next.vote === before.hardState.vote;
}

function save(hardState: HardState | null, entries: Entry[]): Operation {
  const steps: Step[] = [];
  if (entries.length > 0) {
    const first = entries[0]!.index;
    steps.push((m) => ({
      ...m,
      entries: [...m.entries.filter((e) => indexOf(e) < first), ...entries.map(describeEntry)],
    }));
  }
  if (hardState) steps.push((m) => ({ ...m, hardState }));
  return {
    label: `save(${hardState ? `commit ${hardState.commit}` : 'no hard state'}, ${entries.length} entries)`,
    run: (storage) => storage.save(hardState, entries),
    steps,
    ...(hardState && entries.length === 0 ? { hardStateAlone: hardState } : {}),
  };
}

function saveSnapshot(s: Snapshot, keepFollowingEntries: boolean): Operation {
  const install: Step = (m) => ({
    ...m,
    snapshot: { index: s.index, term: s.term, data: Buffer.from(s.data).toString() },
    entries: m.entries.filter((e) => indexOf(e) > s.index),
  });
  const truncate: Step = (m) => ({ ...m, entries: m.entries.filter((e) => indexOf(e) <= s.index) });
  return {
    label: `saveSnapshot(${s.index}, keep ${keepFollowingEntries})`,
    run: (storage) => storage.saveSnapshot(s, keepFollowingEntries),
    steps: keepFollowingEntries ? [install] : [truncate, install],
  };
}

/** Hard states, appends, conflicting tails, segment rolls, compaction, and an installed snapshot. */
const WORKLOAD: readonly Operation[] = [
  save({ term: 1, vote: 'a', commit: 0 }, range(1, 3, 1)),
  save(null, range(4, 5, 1)),
  save({ term: 2, vote: 'b', commit: 3 }, range(4, 6, 2)),
  save({ term: 2, vote: 'b', commit: 6 }, []),
  saveSnapshot(snapshot(4, 2), true),
  save({ term: 2, vote: 'b', commit: 8 }, range(7, 9, 2)),
  saveSnapshot(snapshot(12, 3), false),
  save({ term: 3, vote: null, commit: 12 }, range(13, 14, 3)),
  saveSnapshot(snapshot(13, 3), true),
  save({ term: 4, vote: 'c', commit: 14 }, range(15, 15, 4)),
  // A long uncommitted tail, then a leader of a newer term cuts it, and a snapshot covers what is left.
  save(null, range(16, 30, 4)),
  save({ term: 5, vote: 'a', commit: 17 }, range(16, 17, 5)),
  saveSnapshot(snapshot(17, 5), true),
];

const EMPTY: Model = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };

interface Outcome {
  readonly fs: SimFileSystem;
  /**
   * The states a correct storage may come back with: all resolved calls, and any prefix of the interrupted
   * one, or without the commit indexes written since the last fsync.
   */
  readonly acceptable: Model[];
}

/** Runs the workload until the disk crashes at operation `crashAt` (or never), then crashes it if it has not. */
async function runUntilCrash(seed: number, crashAt: number): Promise<Outcome> {
  const fs = new SimFileSystem({
    random: new SeededRandom(seed),
    beforeOperation: ({ index }): SimFault | undefined => (index === crashAt ? 'crash' : undefined),
  });
  const storage = new FileStorage({ dir: DIR, fs, segmentBytes: SEGMENT_BYTES });
  let model = EMPTY;
  let interrupted: readonly Step[] = [];
  /** The states before each resolved save that no fsync has covered yet. */
  let unsyncedFrom: Model[] = [];
  try {
    await storage.load();
    for (const operation of WORKLOAD) {
      interrupted = operation.steps;
      await operation.run(storage);
      const before = model;
      model = operation.steps.reduce((m, step) => step(m), model);
      unsyncedFrom = movesCommitOnly(operation, before) ? [...unsyncedFrom, before] : [];
      interrupted = [];
    }
    await storage.close();
  } catch (error) {
    if (!(error instanceof SimCrashError)) throw error;
  }
  fs.crash();
  const acceptable: Model[] = [];
  // The interrupted call may have landed in another file (a snapshot's) without the unsynced commit index.
  for (const base of [model, ...unsyncedFrom]) {
    acceptable.push(base);
    for (const step of interrupted) acceptable.push(step(acceptable[acceptable.length - 1]!));
  }
  return { fs, acceptable };
}

async function load(fs: SimFileSystem): Promise<{ storage: FileStorage; model: Model }> {
  const storage = new FileStorage({ dir: DIR, fs, segmentBytes: SEGMENT_BYTES });
  return { storage, model: modelOf(await storage.load()) };
}

describe('FileStorage over a simulated disk that crashes between any two file operations', () => {
  let operationCount = 0;

  beforeAll(async () => {
    // Torn tails are expected here by the thousand: keep the log readable.
    Logger.overrideLogger(false);
    const fs = new SimFileSystem({ random: new SeededRandom(0) });
    const storage = new FileStorage({ dir: DIR, fs, segmentBytes: SEGMENT_BYTES });
    await storage.load();
    for (const operation of WORKLOAD) await operation.run(storage);
    await storage.close();
    operationCount = fs.operationCount;
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  });

  it('comes back with every resolved call and nothing half-written, at every crash point', async () => {
    expect(operationCount).toBeGreaterThan(50);
    const failures: string[] = [];
    for (let crashAt = 0; crashAt <= operationCount; crashAt++) {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const { fs, acceptable } = await runUntilCrash(seed, crashAt);
        const where = `crash at operation ${crashAt}, seed ${seed}`;
        try {
          const { model } = await load(fs.restart());
          if (!acceptable.some((a) => isDeepStrictEqual(a, model))) {
            failures.push(
              `${where}: loaded ${JSON.stringify(model)}, expected one of ${JSON.stringify(acceptable)}`,
            );
          }
        } catch (error) {
          failures.push(`${where}: load failed: ${String(error)}`);
        }
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
  });

  it('recovers without loss when it crashes again during recovery, or after writing more', async () => {
    const failures: string[] = [];
    for (let crashAt = 0; crashAt <= operationCount; crashAt += 3) {
      for (let seed = 1; seed <= SEEDS / 3; seed++) {
        const where = `first crash at operation ${crashAt}, seed ${seed}`;
        const { fs } = await runUntilCrash(seed, crashAt);
        // A clean recovery, to learn what this disk holds and how many operations recovery takes.
        const probe = fs.restart();
        let recovered: Model;
        try {
          recovered = (await load(probe)).model;
        } catch (error) {
          failures.push(`${where}: load failed: ${String(error)}`);
          continue;
        }
        for (let secondCrash = 0; secondCrash <= probe.operationCount; secondCrash++) {
          // Each attempt starts from the disk as the first crash left it.
          const again = (await runUntilCrash(seed, crashAt)).fs.restart({
            beforeOperation: ({ index }) => (index === secondCrash ? 'crash' : undefined),
          });
          const storage = new FileStorage({ dir: DIR, fs: again, segmentBytes: SEGMENT_BYTES });
          const lastIndex =
            recovered.entries.length > 0
              ? indexOf(recovered.entries.at(-1)!)
              : (recovered.snapshot?.index ?? 0);
          const next = entry(lastIndex + 1, 9);
          let appended = false;
          try {
            await storage.load();
            await storage.save({ ...recovered.hardState, term: 9 }, [next]);
            appended = true;
          } catch (error) {
            if (!(error instanceof SimCrashError)) throw error;
          }
          again.crash();
          const where2 = `${where}, second crash at operation ${secondCrash}`;
          try {
            const { model } = await load(again.restart());
            // Unless the append resolved, the entry may or may not have landed (with or without its term).
            const withEntry = { ...recovered, entries: [...recovered.entries, describeEntry(next)] };
            const withBoth = { ...withEntry, hardState: { ...recovered.hardState, term: 9 } };
            const acceptable = appended ? [withBoth] : [recovered, withEntry, withBoth];
            if (!acceptable.some((a) => isDeepStrictEqual(a, model))) {
              failures.push(
                `${where2}: loaded ${JSON.stringify(model)}, expected ${JSON.stringify(acceptable)}`,
              );
            }
          } catch (error) {
            failures.push(`${where2}: load failed: ${String(error)}`);
          }
        }
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
  });
});

/** The harshest crash the simulated disk can pick: every unsynced operation is lost, a pending write torn. */
const LOSE_UNSYNCED: RandomSource = { int: () => 0 };

describe('storage regressions found by crashing the simulated disk', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']));

  it('keeps a resolved save when its data directory was created by the same load', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    const storage = new FileStorage({ dir: DIR, fs });
    await storage.load();
    await storage.save({ term: 1, vote: 'a', commit: 0 }, range(1, 2, 1));
    fs.crash();
    const { model } = await load(fs.restart());
    expect(model.entries).toEqual(['1/1/e1t1', '2/1/e2t1']);
  });

  it('makes the cut of a torn tail durable before writing to the next segment', async () => {
    let crashAtNextSync = false;
    const fs = new SimFileSystem({
      random: LOSE_UNSYNCED,
      beforeOperation: ({ name }) => (crashAtNextSync && name === 'datasync' ? 'crash' : undefined),
    });
    const storage = new FileStorage({ dir: DIR, fs });
    await storage.load();
    await storage.save({ term: 1, vote: 'a', commit: 0 }, range(1, 2, 1));
    crashAtNextSync = true;
    await expect(storage.save(null, range(3, 3, 1))).rejects.toBeInstanceOf(SimCrashError);
    const afterTear = fs.restart();
    const recovered = new FileStorage({ dir: DIR, fs: afterTear });
    expect(modelOf(await recovered.load()).entries).toEqual(['1/1/e1t1', '2/1/e2t1']);
    await recovered.save(null, range(3, 3, 2));
    afterTear.crash();
    const { model } = await load(afterTear.restart());
    expect(model.entries).toEqual(['1/1/e1t1', '2/1/e2t1', '3/2/e3t2']);
  });

  it('takes the zeros a crash left after the last record for a torn write', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    const storage = new FileStorage({ dir: DIR, fs });
    await storage.load();
    await storage.save({ term: 1, vote: 'a', commit: 0 }, range(1, 2, 1));
    await storage.close();
    // What xfs can leave when a crash lands an append's new file size but not its data.
    const segment = [...fs.durableFiles().keys()].find((path) => path.endsWith('.wal'))!;
    const file = await fs.open(segment, 'a');
    await file.write(Buffer.alloc(64));
    await file.close();
    const { model } = await load(fs);
    expect(model.entries).toEqual(['1/1/e1t1', '2/1/e2t1']);
  });

  it('keeps the incarnation it handed out across a crash', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    const incarnation = await persistentIncarnation(DIR, { fs });
    fs.crash();
    expect(await persistentIncarnation(DIR, { fs: fs.restart() })).toBe(incarnation);
  });

  it('gives back the incarnation it returned, wherever a crash strikes', async () => {
    for (let crashAt = 0; crashAt <= 12; crashAt++) {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const fs = new SimFileSystem({
          random: new SeededRandom(seed),
          beforeOperation: ({ index }) => (index === crashAt ? 'crash' : undefined),
        });
        const returned = await persistentIncarnation(DIR, { fs, newId: () => 'first' }).catch(
          (error: unknown) => {
            if (error instanceof SimCrashError) return null;
            throw error;
          },
        );
        fs.crash();
        const again = await persistentIncarnation(DIR, { fs: fs.restart(), newId: () => 'second' });
        if (returned !== null) expect(again, `crash at ${crashAt}, seed ${seed}`).toBe(returned);
      }
    }
  });

  it('makes a new incarnation with the injected generator, for seeded runs', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    expect(await persistentIncarnation(DIR, { fs, newId: () => 'n1-seeded' })).toBe('n1-seeded');
    expect(await persistentIncarnation(DIR, { fs, newId: () => 'other' })).toBe('n1-seeded');
  });

  it('does not take a failed read of the incarnation for a new data directory', async () => {
    const fs = new SimFileSystem({
      random: LOSE_UNSYNCED,
      beforeOperation: ({ name }) => (name === 'readFile' ? 'eio' : undefined),
    });
    await expect(persistentIncarnation(DIR, { fs })).rejects.toMatchObject({ code: 'EIO' });
  });
});

describe('FileStorage after a failed sync', () => {
  it('refuses every later write, which could otherwise resolve around the lost data', async () => {
    let failNextSync = false;
    const fs = new SimFileSystem({
      random: LOSE_UNSYNCED,
      beforeOperation: ({ name }) => (failNextSync && name === 'datasync' ? 'eio' : undefined),
    });
    const storage = new FileStorage({ dir: DIR, fs });
    await storage.load();
    await storage.save({ term: 1, vote: 'a', commit: 0 }, range(1, 1, 1));
    failNextSync = true;
    await expect(storage.save(null, range(2, 2, 1))).rejects.toMatchObject({ code: 'EIO' });
    failNextSync = false;
    await expect(storage.save(null, range(3, 3, 1))).rejects.toBeInstanceOf(StorageFailedError);
    await expect(storage.saveSnapshot(snapshot(1, 1), true)).rejects.toBeInstanceOf(StorageFailedError);
    await storage.close();
    fs.crash();
    // A restart reloads what is durable, and writes again.
    const { storage: reloaded, model } = await load(fs.restart());
    expect(model.entries).toEqual(['1/1/e1t1']);
    await reloaded.save(null, range(2, 2, 1));
  });
});
