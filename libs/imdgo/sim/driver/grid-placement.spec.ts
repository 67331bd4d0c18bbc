import { describe, expect, it } from 'vitest';
import { runGridPlacementSimulation } from './grid-placement-simulation.ts';

/** GRID_PLACEMENT_SIM_SEEDS=50 runs more; GRID_SIM_SEED=n runs one seed (to replay a failure). */
const seeds = process.env.GRID_SIM_SEED
  ? [Number(process.env.GRID_SIM_SEED)]
  : Array.from({ length: Number(process.env.GRID_PLACEMENT_SIM_SEEDS ?? 8) }, (_, i) => i + 1);

describe('placement on GridNode: restart, join, drain, a member lost for good; 5 and 7 members', () => {
  it('returns every partition to full, balanced replication on the members; groups stay safe; no acknowledged write lost', async () => {
    const failures: string[] = [];
    for (const seed of seeds) {
      const run = await runGridPlacementSimulation({ seed });
      if (run.failure) {
        failures.push(`seed ${seed}: ${run.failure} (replay: GRID_SIM_SEED=${seed})`);
        console.log(`seed ${seed} failed: ${run.failure}\n${run.log.slice(-30).join('\n')}`);
      }
      expect(run.acknowledged).toBeGreaterThan(0);
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('replays a seed exactly', async () => {
    const first = await runGridPlacementSimulation({ seed: 1 });
    const second = await runGridPlacementSimulation({ seed: 1 });
    expect(second.log).toEqual(first.log);
    expect(first.log.length).toBeGreaterThan(20);
  }, 300_000);
});
