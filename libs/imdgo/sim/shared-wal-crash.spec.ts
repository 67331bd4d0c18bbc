import { Logger } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom, type RandomSource } from '../src/raft/random.ts';
import type { Entry, HardState, Snapshot } from '../src/raft/types.ts';
import {
  StorageCorruptionError,
  StorageFailedError,
  StorageLayoutError,
} from '../src/storage/storage-errors.ts';
import type { RaftStorage, StoredState } from '../src/storage/raft-storage.ts';
import { FileStorage } from '../src/storage/file-storage.ts';
import { SharedWal } from '../src/storage/shared-wal.ts';
import { SimCrashError, SimFileSystem, type SimFault } from './sim-file-system.ts';

const DATA_DIR = '/data/n1';
/** Small segments, so that the workload rolls segments, carries idle groups forward and deletes old ones. */
const SEGMENT_BYTES = 300;
const SEEDS = 6;
const GROUPS = [0, 1, 2, 3] as const;
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

/** What Raft must find for one group after a restart, in comparable form. */
interface Model {
  readonly hardState: HardState;
  readonly snapshot: { index: number; term: number; data: string } | null;
  readonly entries: readonly string[];
}
type Step = (model: Model) => Model;

const describeEntry = (e: Entry): string => `${e.index}/${e.term}/${Buffer.from(e.data).toString()}`;
const indexOf = (described: string): number => Number.parseInt(described, 10);
const EMPTY: Model = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };

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

/** One group's call and the atomic steps it may have completed when a crash interrupts it. */
interface Call {
  readonly group: number;
  readonly run: (node: OpenNode) => Promise<void>;
  readonly steps: readonly Step[];
  /** A save's hard state when it writes no entry. */
  readonly hardStateAlone?: HardState;
}

/** A commit index alone is written without an fsync (must-sync.ts): a crash before the next one may lose it. */
function movesCommitOnly(call: Call, before: Model): boolean {
  const next = call.hardStateAlone;
  return next !== undefined && next.term === before.hardState.term && next.vote === before.hardState.vote;
}

/** The calls of one event-loop turn: started together, so their saves share a batch and an fsync. */
type Turn = readonly Call[];

interface OpenNode {
  readonly wal: SharedWal;
  readonly views: Map<number, RaftStorage>;
}

function save(group: number, hardState: HardState | null, entries: Entry[]): Call {
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
    group,
    run: (node) => node.views.get(group)!.save(hardState, entries)!,
    steps,
    ...(hardState && entries.length === 0 ? { hardStateAlone: hardState } : {}),
  };
}

function saveSnapshot(group: number, s: Snapshot, keepFollowingEntries: boolean): Call {
  const install: Step = (m) => ({
    ...m,
    snapshot: { index: s.index, term: s.term, data: Buffer.from(s.data).toString() },
    entries: m.entries.filter((e) => indexOf(e) > s.index),
  });
  const truncate: Step = (m) => ({ ...m, entries: m.entries.filter((e) => indexOf(e) <= s.index) });
  return {
    group,
    run: (node) => node.views.get(group)!.saveSnapshot(s, keepFollowingEntries),
    steps: keepFollowingEntries ? [install] : [truncate, install],
  };
}

/** What a released group keeps: its vote and snapshot, not its entries. */
const release: Step = (m) => ({
  ...m,
  hardState: { ...m.hardState, commit: Math.min(m.hardState.commit, m.snapshot?.index ?? 0) },
  entries: [],
});

/** Placement destroys the group here, then it is created again. */
function releaseAndReopen(group: number): Call {
  return {
    group,
    async run(node) {
      await node.views.get(group)!.close();
      await node.wal.release(group);
      const view = node.wal.storageFor(group);
      await view.load();
      node.views.set(group, view);
    },
    steps: [release],
  };
}

/**
 * Four groups of one node. Group 3 writes early and then sits idle (its entries must be carried forward for
 * old segments to go); groups 1 and 2 compact and install snapshots; group 0 is destroyed and recreated.
 */
const WORKLOAD: readonly Turn[] = [
  [
    save(0, { term: 1, vote: 'a', commit: 0 }, range(1, 3, 1)),
    save(1, { term: 1, vote: 'b', commit: 0 }, range(1, 2, 1)),
    save(2, { term: 1, vote: 'c', commit: 0 }, range(1, 2, 1)),
    save(3, { term: 1, vote: 'a', commit: 0 }, range(1, 3, 1)),
  ],
  [
    save(0, { term: 1, vote: 'a', commit: 3 }, range(4, 5, 1)),
    save(3, { term: 1, vote: 'a', commit: 3 }, []),
  ],
  [save(1, { term: 2, vote: 'b', commit: 2 }, range(2, 4, 2)), save(2, null, range(3, 12, 1))],
  [
    save(0, { term: 1, vote: 'a', commit: 5 }, []),
    save(1, { term: 2, vote: 'b', commit: 4 }, range(5, 6, 2)),
  ],
  [saveSnapshot(1, snapshot(4, 2), true), save(2, { term: 3, vote: 'a', commit: 2 }, [])],
  [save(1, { term: 2, vote: 'b', commit: 6 }, range(7, 9, 2)), save(0, null, range(6, 8, 1))],
  // Group 2 gets a leader's snapshot over a log that disagrees with it.
  [saveSnapshot(2, snapshot(10, 3), false)],
  [
    save(2, { term: 3, vote: 'a', commit: 10 }, range(11, 12, 3)),
    save(0, { term: 2, vote: 'c', commit: 5 }, range(6, 9, 2)),
  ],
  [saveSnapshot(1, snapshot(8, 2), true), save(2, { term: 3, vote: 'a', commit: 12 }, [])],
  [releaseAndReopen(0)],
  [
    save(0, { term: 3, vote: 'b', commit: 0 }, range(1, 2, 3)),
    save(1, { term: 2, vote: 'b', commit: 9 }, []),
  ],
  [saveSnapshot(2, snapshot(12, 3), true), save(1, null, range(10, 14, 2))],
  [save(0, { term: 3, vote: 'b', commit: 2 }, range(3, 4, 3)), save(2, null, range(13, 16, 3))],
];

interface Outcome {
  readonly fs: SimFileSystem;
  /**
   * Per group, the states a correct log may come back with: every resolved call, and any prefix of the
   * interrupted one, or without the commit indexes written since the last fsync.
   */
  readonly acceptable: Map<number, Model[]>;
}

function openWal(fs: SimFileSystem): SharedWal {
  return new SharedWal({ dataDir: DATA_DIR, fs, segmentBytes: SEGMENT_BYTES });
}

async function openNode(fs: SimFileSystem): Promise<{ node: OpenNode; models: Map<number, Model> }> {
  const wal = openWal(fs);
  const views = new Map<number, RaftStorage>();
  const models = new Map<number, Model>();
  for (const group of GROUPS) {
    const view = wal.storageFor(group);
    models.set(group, modelOf(await view.load()));
    views.set(group, view);
  }
  return { node: { wal, views }, models };
}

/** Runs the workload until the disk crashes at operation `crashAt` (or never), then crashes it if it has not. */
async function runUntilCrash(seed: number, crashAt: number): Promise<Outcome> {
  const fs = new SimFileSystem({
    random: new SeededRandom(seed),
    beforeOperation: ({ index }): SimFault | undefined => (index === crashAt ? 'crash' : undefined),
  });
  const models = new Map<number, Model>(GROUPS.map((g) => [g, EMPTY]));
  const interrupted = new Map<number, readonly Step[]>();
  /** Per group, the states before each resolved save that no fsync has covered yet. */
  const unsyncedFrom = new Map<number, Model[]>();
  try {
    const { node } = await openNode(fs);
    for (const turn of WORKLOAD) {
      await Promise.all(
        turn.map(async (call) => {
          interrupted.set(call.group, call.steps);
          try {
            await call.run(node);
          } catch (error) {
            if (error instanceof SimCrashError || error instanceof StorageFailedError) return;
            throw error;
          }
          const before = models.get(call.group)!;
          models.set(
            call.group,
            call.steps.reduce((m, step) => step(m), before),
          );
          interrupted.delete(call.group);
          // Saves resolve in the order their batches were written: an fsync covers every earlier one.
          if (!movesCommitOnly(call, before)) unsyncedFrom.clear();
          else unsyncedFrom.set(call.group, [...(unsyncedFrom.get(call.group) ?? []), before]);
        }),
      );
      if (fs.isCrashed) break;
    }
    for (const view of node.views.values()) await view.close();
  } catch (error) {
    if (!(error instanceof SimCrashError || error instanceof StorageFailedError)) throw error;
  }
  fs.crash();
  const acceptable = new Map<number, Model[]>();
  for (const group of GROUPS) {
    const states: Model[] = [];
    // The interrupted call may have landed in another file (a snapshot's) without the unsynced commit index.
    for (const base of [models.get(group)!, ...(unsyncedFrom.get(group) ?? [])]) {
      states.push(base);
      for (const step of interrupted.get(group) ?? []) states.push(step(states[states.length - 1]!));
    }
    acceptable.set(group, states);
  }
  return { fs, acceptable };
}

describe('SharedWal over a simulated disk that crashes between any two file operations', () => {
  let operationCount = 0;

  beforeAll(async () => {
    // Torn tails are expected here by the thousand: keep the log readable.
    Logger.overrideLogger(false);
    const { fs } = await runUntilCrash(0, Number.POSITIVE_INFINITY);
    operationCount = fs.operationCount;
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  });

  it('gives every group back what it acknowledged and nothing half-written, at every crash point', async () => {
    expect(operationCount).toBeGreaterThan(80);
    const failures: string[] = [];
    for (let crashAt = 0; crashAt <= operationCount; crashAt++) {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const { fs, acceptable } = await runUntilCrash(seed, crashAt);
        const where = `crash at operation ${crashAt}, seed ${seed}`;
        try {
          const { models } = await openNode(fs.restart());
          for (const group of GROUPS) {
            const model = models.get(group)!;
            const expected = acceptable.get(group)!;
            if (!expected.some((a) => isDeepStrictEqual(a, model))) {
              failures.push(
                `${where}, group ${group}: loaded ${JSON.stringify(model)}, expected one of ${JSON.stringify(expected)}`,
              );
            }
          }
        } catch (error) {
          failures.push(`${where}: load failed: ${String(error)}`);
        }
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
  });

  it('deletes old segments although a group sits idle, and keeps the idle group whole', async () => {
    const fs = new SimFileSystem({ random: new SeededRandom(1) });
    const { node } = await openNode(fs);
    await node.views.get(3)!.save({ term: 1, vote: 'a', commit: 2 }, range(1, 2, 1));
    for (let i = 1; i <= 60; i++)
      await node.views.get(1)!.save({ term: 1, vote: 'b', commit: i - 1 }, [entry(i, 1)]);
    await node.views.get(1)!.saveSnapshot(snapshot(55, 1), true);
    for (let i = 61; i <= 70; i++) await node.views.get(1)!.save(null, [entry(i, 1)]);
    const segments = [...fs.durableFiles().keys()].filter((p) => p.endsWith('.wal'));
    expect(segments.length).toBeLessThanOrEqual(3);
    for (const view of node.views.values()) await view.close();
    const { models } = await openNode(fs);
    expect(models.get(3)!.entries).toEqual(['1/1/e1t1', '2/1/e2t1']);
    expect(models.get(3)!.hardState).toEqual({ term: 1, vote: 'a', commit: 2 });
    expect(models.get(1)!.entries).toEqual(range(56, 70, 1).map(describeEntry));
  });
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The harshest crash the simulated disk can pick: every unsynced operation is lost, a pending write torn. */
const LOSE_UNSYNCED: RandomSource = { int: () => 0 };

describe('SharedWal group commit', () => {
  it('makes the saves of every group in one turn durable with one fsync, resolving each only after it', async () => {
    let datasyncs = 0;
    const fs = new SimFileSystem({
      random: LOSE_UNSYNCED,
      beforeOperation: ({ name }) => {
        if (name === 'datasync' || name === 'sync') datasyncs++;
        return undefined;
      },
    });
    const wal = new SharedWal({ dataDir: DATA_DIR, fs });
    const groups = Array.from({ length: 16 }, (_, g) => wal.storageFor(g));
    for (const view of groups) await view.load();
    const before = datasyncs;
    const saves = groups.map((view, g) => view.save({ term: 1, vote: `n${g}`, commit: 0 }, range(1, 2, 1)));
    await Promise.all(saves);
    expect(datasyncs - before).toBe(1);
    expect(wal.logSyncs).toBeGreaterThan(0);
    // Durable when resolved: a crash right after loses none of them.
    fs.crash();
    const again = new SharedWal({ dataDir: DATA_DIR, fs: fs.restart() });
    for (let g = 0; g < 16; g++) {
      const state = modelOf(await again.storageFor(g).load());
      expect(state.entries).toEqual(['1/1/e1t1', '2/1/e2t1']);
      expect(state.hardState.vote).toBe(`n${g}`);
    }
  });

  it('puts the appends made while a batch is being synced into the next batch, whatever their turn', async () => {
    let datasyncs = 0;
    /** Disk operations wait here until the test lets them finish. */
    const held: (() => void)[] = [];
    const fs = new SimFileSystem({
      random: LOSE_UNSYNCED,
      schedule: (_delayMs, run) => held.push(run),
      beforeOperation: ({ name }) => {
        if (name === 'datasync') datasyncs++;
        return undefined;
      },
    });
    const drain = async (until: () => boolean): Promise<void> => {
      while (!until()) {
        held.splice(0).forEach((run) => run());
        await nextTurn();
      }
    };
    const wal = new SharedWal({ dataDir: DATA_DIR, fs });
    const views = [1, 2, 3, 4].map((g) => wal.storageFor(g));
    const loads = Promise.all(views.map((view) => view.load()));
    let loaded = false;
    void loads.then(() => (loaded = true));
    await drain(() => loaded);
    const before = datasyncs;
    const first = views[0]!.save(null, range(1, 1, 1));
    await drain(() => datasyncs > before);
    // The first batch's fsync is under way: three more groups append, each in a turn of its own.
    const later: Promise<void>[] = [];
    for (const view of views.slice(1)) {
      later.push(Promise.resolve(view.save(null, range(1, 1, 1))));
      await nextTurn();
    }
    let done = false;
    void Promise.all([first, ...later]).then(() => (done = true));
    await drain(() => done);
    expect(datasyncs - before).toBe(2);
  });

  it('starts a segment with the hard states already written, not those of appends still waiting', async () => {
    const held: (() => void)[] = [];
    let writesToSecondSegment = 0;
    const fs = new SimFileSystem({
      random: LOSE_UNSYNCED,
      schedule: (_delayMs, run) => held.push(run),
      // Crash as the second segment's first batch is written, after its opening hard states were synced.
      beforeOperation: ({ name, path }) =>
        name === 'write' && path.endsWith('00000000000000000002.wal') && ++writesToSecondSegment === 2
          ? 'crash'
          : undefined,
    });
    const drain = async (until: () => boolean): Promise<void> => {
      while (!until()) {
        held.splice(0).forEach((run) => run());
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const wal = new SharedWal({ dataDir: DATA_DIR, fs, segmentBytes: 200 });
    const [a, b] = [wal.storageFor(1), wal.storageFor(2)];
    let loaded = false;
    void Promise.all([a.load(), b.load()]).then(() => (loaded = true));
    await drain(() => loaded);
    // Group 1's batch fills the first segment; group 2 appends and commits while it is being written.
    const first = Promise.resolve(a.save({ term: 1, vote: 'a', commit: 0 }, range(1, 10, 1)));
    await drain(() => held.length > 0);
    const second = Promise.resolve(b.save({ term: 1, vote: 'b', commit: 3 }, range(1, 3, 1)));
    const settled = Promise.allSettled([first, second]);
    await drain(() => fs.isCrashed);
    held.splice(0).forEach((run) => run());
    expect((await settled).map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    const reloaded = modelOf(
      await new SharedWal({ dataDir: DATA_DIR, fs: fs.restart({ schedule: undefined }) })
        .storageFor(2)
        .load(),
    );
    expect(reloaded).toEqual(EMPTY);
  });

  it('fails every save of a batch whose fsync failed, and every later one', async () => {
    let failNextSync = false;
    const fs = new SimFileSystem({
      random: LOSE_UNSYNCED,
      beforeOperation: ({ name }) => (failNextSync && name === 'datasync' ? 'eio' : undefined),
    });
    const wal = openWal(fs);
    const [a, b] = [wal.storageFor(1), wal.storageFor(2)];
    await a.load();
    await b.load();
    failNextSync = true;
    const results = await Promise.allSettled([a.save(null, range(1, 1, 1)), b.save(null, range(1, 1, 1))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    failNextSync = false;
    await expect(a.save(null, range(1, 1, 1))).rejects.toBeInstanceOf(StorageFailedError);
  });
});

describe('SharedWal on a damaged or old data directory', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']));

  it('refuses the layout of one log per group, naming the directory', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    await fs.mkdir(`${DATA_DIR}/group-3/wal`);
    await fs.mkdir(`${DATA_DIR}/group-0/wal`);
    await expect(openWal(fs).storageFor(0).load()).rejects.toThrow(StorageLayoutError);
    await expect(openWal(fs).storageFor(0).load()).rejects.toThrow(
      `${DATA_DIR}/group-0: this data directory holds imdgo data but no imdgo-format.json: an earlier`,
    );
  });

  it('refuses the data directory of a node started with partitions: 1, naming it', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    await new FileStorage({ dir: DATA_DIR, fs }).load();
    await expect(openWal(fs).storageFor(0).load()).rejects.toThrow(
      `${DATA_DIR}/imdgo-format.json: this data directory was written by a node started with partitions: 1, ` +
        'this one has partitions > 1',
    );
  });

  it('fails loudly, naming the segment, on a damaged record before the tail', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    const { node } = await openNode(fs);
    await node.views.get(1)!.save({ term: 1, vote: 'a', commit: 0 }, range(1, 3, 1));
    await node.views.get(2)!.save({ term: 1, vote: 'a', commit: 0 }, range(1, 3, 1));
    for (const view of node.views.values()) await view.close();
    const [path, bytes] = [...fs.durableFiles()].find(([p]) => p.endsWith('.wal'))!;
    const damaged = Buffer.from(bytes);
    damaged[20] = damaged[20]! ^ 0xff;
    const file = await fs.open(path, 'w');
    await file.write(damaged);
    await file.close();
    await expect(openWal(fs).storageFor(1).load()).rejects.toThrow(StorageCorruptionError);
    await expect(openWal(fs).storageFor(1).load()).rejects.toThrow(path);
  });

  it('refuses a group whose commit index is beyond its stored log, naming the file', async () => {
    const fs = new SimFileSystem({ random: LOSE_UNSYNCED });
    const { node } = await openNode(fs);
    await node.views.get(2)!.save({ term: 1, vote: 'a', commit: 7 }, range(1, 3, 1));
    await expect(openNode(fs)).rejects.toThrow(/group 2's commit index 7 is beyond its last stored index 3/);
  });
});
