import { describe, expect, it } from 'vitest';
import type { DriverTestOnlyBugs } from '../../src/driver/raft-node.ts';
import type { RaftTestOnlyBugs } from '../../src/raft/index.ts';
import { checkDriverSeed, type CheckedDriverRun } from './driver-check-run.ts';
import {
  runDriverSimulation,
  seedProfile,
  type DriverSimulationOptions,
  type Profile,
} from './driver-simulation.ts';

describe('the production driver under simulation', () => {
  it('replays a seed exactly, in memory mode and in data-directory mode', async () => {
    // Seed 1 draws memory mode, seed 2 data-directory mode (FileStorage over SimFileSystem).
    for (const seed of [1, 2]) {
      const first = await runDriverSimulation({ seed });
      const second = await runDriverSimulation({ seed });
      expect(second.traceDigest).toBe(first.traceDigest);
      expect(second.history).toEqual(first.history);
      expect(second.stats).toEqual(first.stats);
      expect(first.stats.memoryMode).toBe(seed === 1);
      expect(first.history.length).toBeGreaterThan(0);
    }
  }, 60_000);

  it('runs differently for different seeds', async () => {
    const digests = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) digests.add((await runDriverSimulation({ seed })).traceDigest);
    expect(digests.size).toBe(10);
  }, 60_000);

  it('passes 40 seeds: invariants hold, replicas converge and every history is linearizable', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const run = await checkDriverSeed({ seed });
      if (run.failure) failures.push(`seed ${seed}: ${run.failure}`);
    }
    expect(failures).toEqual([]);
  }, 180_000);

  // A removal call that gave up while the member stayed used to keep it pending for the rest of the run: no
  // member was removed after it, and no memory was lost.
  it('goes on with membership churn after a lost removal, in some early seed that draws the churn', async () => {
    let after = 0;
    for (let seed = 1; seed <= 1000 && after === 0; seed++) {
      if (!seedProfile(seed).downToOneVoter) continue;
      after = (await runDriverSimulation({ seed })).stats.faults['remove member after a lost one'] ?? 0;
    }
    expect(after).toBeGreaterThan(0);
  }, 120_000);

  it('passes 30 seeds on the shared write-ahead log of partitioned mode', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 30; seed++) {
      const run = await checkDriverSeed({ seed, sharedWal: true });
      if (run.failure) failures.push(`seed ${seed}: ${run.failure}`);
    }
    expect(failures).toEqual([]);
  }, 180_000);

  it('does not wipe a removed member that was seated again before its lingering ran out', async () => {
    // In each seed a removed member lingers and is seated again; wiping it when its old lingering ran out
    // lost the last copy of the data (13375, 18381: "every member lost its memory") or a seat the
    // configuration still counts on (8812, 16339: no convergence after healing).
    for (const seed of [8812, 13375, 16339, 18381]) {
      expect((await checkDriverSeed({ seed })).failure, `seed ${seed}`).toBeNull();
    }
  }, 120_000);

  it('does not declare the cluster lost on a fresh answer its member gave before joining it', async () => {
    // Seed 18053786: n3, still discovering, was paused between two probe rounds. n2 had answered fresh, then
    // joined and was cut off; n1 lost its memory. n3 took both as fresh and logged every member's memory lost.
    expect((await checkDriverSeed({ seed: 18053786 })).failure).toBeNull();
  }, 60_000);

  it('takes no snapshot behind a leader snapshot the core accepted while the driver was still applying', async () => {
    // Seed 17765: a follower's own snapshot was due at index 161 just after the core had stepped in the
    // leader's snapshot at 175; recording it threw an invariant error that escaped the node unhandled.
    expect((await checkDriverSeed({ seed: 17765 })).failure).toBeNull();
  }, 60_000);
});

/**
 * The checks bite on the production driver too: a deliberately broken core or driver fails, soon, a seed
 * that passes without the bug. The bounds leave a margin over the first such seed today (14, 3, 3, 33, 385, 1).
 * The driver's old persistence order needs a crash between a Ready's save and its snapshot install; the
 * core's stale-match commit the memory-mode stale-leader rejoin (CheckQuorum off); the single-voter read a
 * leader removing itself from two voters while the other is cut off and leads alone, which only seeds that
 * draw the churn down to one voter run (so the others are skipped unrun).
 */
describe.each<[keyof RaftTestOnlyBugs | keyof DriverTestOnlyBugs, number, (profile: Profile) => boolean]>([
  ['skipLogUpToDateCheck', 300, () => true],
  ['persistReadyBeforeSnapshot', 300, () => true],
  ['sendAheadOfDisk', 300, () => true],
  ['commitOnStaleMatch', 1000, () => true],
  ['singleVoterReadWithoutMembership', 2000, (profile) => profile.downToOneVoter],
  // A write that never settles: only the check that every call to a running node settles sees it.
  ['dropExpiredWaiters', 100, () => true],
])('the driver with %s', (bug, maxSeeds, runs) => {
  const broken = { [bug]: true };
  const bugs: Pick<DriverSimulationOptions, 'testOnlyBugs' | 'driverBugs'> =
    bug === 'persistReadyBeforeSnapshot' || bug === 'sendAheadOfDisk' || bug === 'dropExpiredWaiters'
      ? { driverBugs: broken }
      : { testOnlyBugs: broken };

  it(`fails within ${maxSeeds} seeds, and the failing seed replays identically`, async () => {
    let failing: CheckedDriverRun | null = null;
    for (let seed = 1; seed <= maxSeeds && !failing; seed++) {
      if (!runs(seedProfile(seed))) continue;
      const run = await checkDriverSeed({ seed, ...bugs });
      if (run.failure && (await checkDriverSeed({ seed })).failure === null) failing = run;
    }
    expect(failing, `no failure in ${maxSeeds} seeds`).not.toBeNull();
    const replay = await checkDriverSeed({ seed: failing!.seed, ...bugs });
    expect(replay).toMatchObject({ failure: failing!.failure, traceDigest: failing!.traceDigest });
  }, 600_000);
});
