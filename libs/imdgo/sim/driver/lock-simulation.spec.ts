import { describe, expect, it } from 'vitest';
import { checkDriverSeed } from './driver-check-run.ts';

describe('locks and elections in the driver simulator', () => {
  it('passes 40 seeds with lock clients: one holder at a time, rising tokens, sessions ending once', async () => {
    const failures: string[] = [];
    const totals = { replayed: 0, grants: 0, handOvers: 0, endedSessions: 0 };
    for (let seed = 1; seed <= 40; seed++) {
      const run = await checkDriverSeed({ seed, lockClients: 4 });
      if (run.failure) failures.push(`seed ${seed}: ${run.failure}`);
      const locks = run.stats.locks!;
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += locks[key];
    }
    expect(failures).toEqual([]);
    // The runs did exercise what is checked: grants, hand-overs to waiters, sessions ending under faults.
    expect(totals.grants).toBeGreaterThan(100);
    expect(totals.handOvers).toBeGreaterThan(10);
    expect(totals.endedSessions).toBeGreaterThan(50);
  }, 300_000);

  it('replays a seed with lock clients exactly', async () => {
    const first = await checkDriverSeed({ seed: 3, lockClients: 4 });
    const second = await checkDriverSeed({ seed: 3, lockClients: 4 });
    expect(second.traceDigest).toBe(first.traceDigest);
    expect(second.stats).toEqual(first.stats);
  }, 60_000);
});
