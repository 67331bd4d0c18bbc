import { describe, expect, it } from 'vitest';
import { judgeRun } from '../check-run.ts';
import { runGridSimulation } from './grid-simulation.ts';

/** GRID_SIM_SEEDS=200 runs more; GRID_SIM_SEED=n runs one seed (to replay a failure). */
const seeds = process.env.GRID_SIM_SEED
  ? [Number(process.env.GRID_SIM_SEED)]
  : Array.from({ length: Number(process.env.GRID_SIM_SEEDS ?? 30) }, (_, i) => i + 1);

describe('grid simulation: 5-6 nodes, 8 partitions, 3 replicas, crashes, isolation, a faulty network', () => {
  it('keeps every group safe, every key linearizable, increments exactly once, every feed complete and in order', async () => {
    const failures: string[] = [];
    for (const seed of seeds) {
      const run = judgeRun(await runGridSimulation({ seed, durationMs: 10_000 }), 30_000);
      if (run.failure) {
        failures.push(`seed ${seed}: ${run.failure} (replay: GRID_SIM_SEED=${seed})`);
        console.log(`seed ${seed} failed: ${run.failure}\n${run.log.slice(-40).join('\n')}`);
      }
      expect(run.acknowledged).toBeGreaterThan(0);
    }
    expect(failures).toEqual([]);
  }, 1_200_000);

  it('replays a seed exactly', async () => {
    const first = await runGridSimulation({ seed: 3, durationMs: 5_000 });
    const second = await runGridSimulation({ seed: 3, durationMs: 5_000 });
    expect(second.log).toEqual(first.log);
    expect(first.log.length).toBeGreaterThan(100);
  }, 300_000);
});
