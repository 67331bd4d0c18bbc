import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RaftTestOnlyBugs } from '../src/raft/index.ts';
import { checkSeed, type CheckedRun } from './check-run.ts';
import { runSimulation, type SimProfile } from './simulation.ts';

describe('determinism', () => {
  it('a seed replays exactly: same trace and same history', () => {
    const first = runSimulation({ seed: 42 });
    const second = runSimulation({ seed: 42 });
    expect(second.traceDigest).toBe(first.traceDigest);
    expect(second.history).toEqual(first.history);
    expect(second.stats).toEqual(first.stats);
    expect(first.history.length).toBeGreaterThan(0);
  });

  it('different seeds run differently', () => {
    const digests = new Set(Array.from({ length: 20 }, (_, i) => runSimulation({ seed: i + 1 }).traceDigest));
    expect(digests.size).toBe(20);
  });
});

describe('membership churn', () => {
  // A removal whose entry a new leader replaced used to stay pending for the rest of the run, and no member
  // was removed after it.
  it('goes on after a lost removal: a later removal is proposed in some early seed', () => {
    let seed = 0;
    let after = 0;
    while (after === 0 && seed < 100) {
      const { faults } = runSimulation({ seed: ++seed, profile: 'membership-race' }).stats;
      if (faults['membership remove lost']) after = faults['membership remove after a lost one'] ?? 0;
    }
    expect(after, `no removal after a lost one in ${seed} seeds`).toBeGreaterThan(0);
  });
});

describe('the correct core', () => {
  it('passes 300 seeds: invariants hold and every history is linearizable', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const run = checkSeed({ seed });
      if (run.failure) failures.push(`seed ${seed}: ${run.failure}`);
    }
    expect(failures).toEqual([]);
  });

  // Healing keeps the seed's message loss: here 14.8%, with one node electable, which needs four messages through
  // per attempt; it converged 21 s after healing.
  it('converges on a network that still loses messages after healing (seed 20427)', () => {
    expect(checkSeed({ seed: 20427 }).failure).toBeNull();
  });

  it('passes 300 seeds of the membership race (simulation.ts)', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const run = checkSeed({ seed, profile: 'membership-race' });
      if (run.failure) failures.push(`seed ${seed}: ${run.failure}`);
    }
    expect(failures).toEqual([]);
  });
});

/**
 * The checks bite: each deliberately broken core fails some seed soon. The bounds leave a wide margin (the
 * first three are caught in a few per cent of seeds). The unfixed configuration change needs two leaders
 * changing membership before committing in their terms: one swarm seed in six thousand, one in about 30 of
 * the membership race, which makes that common (a leader then lacks a committed entry, or two lead a term).
 * The last two need the memory-mode stale-leader
 * interleaving, and a leader removing itself from two voters while the other is cut off: a few seeds in a
 * thousand.
 */
describe.each<[keyof RaftTestOnlyBugs, number, SimProfile]>([
  ['skipLogUpToDateCheck', 1000, 'swarm'],
  ['forgetVoteOnRestart', 1000, 'swarm'],
  ['commitPreviousTermEntries', 1000, 'swarm'],
  ['configChangeBeforeTermCommit', 1000, 'membership-race'],
  ['commitOnStaleMatch', 3000, 'swarm'],
  ['singleVoterReadWithoutMembership', 3000, 'swarm'],
])('a core with %s', (bug, maxSeeds, profile) => {
  const testOnlyBugs: RaftTestOnlyBugs = { [bug]: true };

  it(`fails within ${maxSeeds} seeds of the ${profile} profile, and the failing seed replays identically`, () => {
    let failing: CheckedRun | null = null;
    for (let seed = 1; seed <= maxSeeds && !failing; seed++) {
      const run = checkSeed({ seed, testOnlyBugs, profile });
      if (run.failure) failing = run;
    }
    expect(failing, `no failure in ${maxSeeds} seeds`).not.toBeNull();
    const replay = checkSeed({ seed: failing!.seed, testOnlyBugs, profile });
    expect(replay).toMatchObject({ failure: failing!.failure, traceDigest: failing!.traceDigest });
  }, 300_000);
});

describe('sim CLI', () => {
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const failuresDir = mkdtempSync(join(tmpdir(), 'imdgo-sim-failures-'));
  afterAll(() => rmSync(failuresDir, { recursive: true, force: true }));

  function sim(...args: string[]): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => {
      execFile(
        'npx',
        ['node', 'libs/imdgo/sim/cli.ts', '--failures-dir', failuresDir, ...args],
        { cwd: repoRoot },
        (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code), stdout }),
      );
    });
  }

  it('exits 0 when every seed passes, and says so on its last line', async () => {
    const { code, stdout } = await sim('--mode', 'core', '--seeds', '20', '--start', '1');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('20 passed, 0 failed');
  });

  it('runs the production driver by default', async () => {
    const { code, stdout } = await sim('--seeds', '3', '--start', '1');
    expect(code).toBe(0);
    expect(stdout).toContain('driver mode: 3 seeds');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('3 passed, 0 failed');
  }, 60_000);

  it('exits 1 on a broken core, printing each failing seed with a command that replays it', async () => {
    const { code, stdout } = await sim('--mode', 'core', '--bug', 'skipLogUpToDateCheck', '--seeds', '50');
    expect(code).toBe(1);
    const seed = /^FAIL seed (\d+): /m.exec(stdout)?.[1];
    expect(seed).toBeDefined();
    expect(stdout).toContain(
      `replay:  npm run sim -- --start ${seed} --seeds 1 --mode core --bug skipLogUpToDateCheck`,
    );
    const trace = new RegExp(`^FAIL seed ${seed}: .*\\n.* trace=(\\w+)`, 'm').exec(stdout)?.[1];

    const replay = await sim('--mode', 'core', '--seed', seed!, '--bug', 'skipLogUpToDateCheck');
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain(`trace=${trace}`);
    expect(replay.stdout.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });

  it('runs a profile, and its replay command names it', async () => {
    const flags = ['--mode', 'core', '--profile', 'membership-race', '--bug', 'configChangeBeforeTermCommit'];
    const { code, stdout } = await sim(...flags, '--seeds', '100');
    expect(code).toBe(1);
    const seed = /^FAIL seed (\d+): /m.exec(stdout)?.[1];
    expect(seed).toBeDefined();
    expect(stdout).toContain(`replay:  npm run sim -- --start ${seed} --seeds 1 ${flags.join(' ')}`);
  });
});
