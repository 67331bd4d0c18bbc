import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry, HardState, Ready, Snapshot, SnapshotMeta } from '../raft/types.ts';
import { FileStorage } from '../storage/file-storage.ts';
import type { RaftStorage, StoredState } from '../storage/raft-storage.ts';
import { persistReady } from './persist-ready.ts';

const CONFIG = { voters: ['a', 'b', 'c'], learners: [] };
const entry = (index: number, term: number): Entry => ({
  index,
  term,
  kind: 'command',
  data: Buffer.from(`${term}:${index}`),
});
const range = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));

class Crash extends Error {}

/** Performs the first `writes` storage writes, then fails every later one: the process died there. */
class CrashingStorage implements RaftStorage {
  private readonly inner: RaftStorage;
  private writesLeft: number;

  constructor(inner: RaftStorage, writes: number) {
    this.inner = inner;
    this.writesLeft = writes;
  }

  load(): Promise<StoredState> {
    return this.inner.load();
  }

  save(hardState: HardState | null, entries: readonly Entry[]): void | Promise<void> {
    if (this.writesLeft-- <= 0) throw new Crash('crashed before saving the hard state and entries');
    return this.inner.save(hardState, entries);
  }

  saveSnapshot(snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void> {
    if (this.writesLeft-- <= 0) throw new Crash('crashed before saving the snapshot');
    return this.inner.saveSnapshot(snapshot, keepFollowingEntries);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** What a follower's core hands over after installing a leader's snapshot at 20 (its log disagreed). */
const SNAPSHOT: Snapshot = { index: 20, term: 3, config: CONFIG, data: Buffer.from('image at 20') };
const READIES: Record<string, Pick<Ready, 'hardState' | 'entries' | 'snapshot'>> = {
  'a snapshot alone': { hardState: { term: 3, vote: null, commit: 20 }, entries: [], snapshot: SNAPSHOT },
  // An append stepped while the previous save was awaited lands in the same Ready as the snapshot.
  'a snapshot and entries after it': {
    hardState: { term: 3, vote: null, commit: 20 },
    entries: range(21, 23, 3),
    snapshot: SNAPSHOT,
  },
};

describe('persistReady over FileStorage', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imdgo-persist-'));
    const storage = new FileStorage({ dir });
    await storage.load();
    // Entries 1..10 of an old term, 2 committed: the leader's snapshot at 20 replaces all of them.
    await storage.save({ term: 1, vote: null, commit: 2 }, range(1, 10, 1));
    await storage.close();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function persistThenCrash(
    ready: Pick<Ready, 'hardState' | 'entries' | 'snapshot'>,
    writes: number,
  ): Promise<StoredState> {
    const file = new FileStorage({ dir });
    await file.load();
    const storage = new CrashingStorage(file, writes);
    const install = (meta: SnapshotMeta): Promise<void> =>
      storage.saveSnapshot({ ...meta, data: SNAPSHOT.data }, false);
    await Promise.resolve()
      .then(() => persistReady(storage, ready, install))
      .catch((error: unknown) => {
        if (!(error instanceof Crash)) throw error;
      });
    await file.close();
    return new FileStorage({ dir }).load();
  }

  for (const [name, ready] of Object.entries(READIES)) {
    for (const writes of [0, 1, 2]) {
      it(`leaves a consistent store after ${name}, crashing after ${writes} of its writes`, async () => {
        const state = await persistThenCrash(ready, writes);
        const lastIndex = state.entries.at(-1)?.index ?? state.snapshot?.index ?? 0;
        expect(state.hardState.commit).toBeLessThanOrEqual(lastIndex);
        if (writes === 2) {
          // Everything the node acknowledged in this Ready survives.
          expect(state.snapshot?.index).toBe(20);
          expect(state.hardState.commit).toBe(20);
          expect(state.entries.map((e) => e.index)).toEqual(ready.entries.map((e) => e.index));
        }
      });
    }
  }
});
