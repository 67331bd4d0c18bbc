import { judgeRun } from '../check-run.ts';
import {
  runDriverSimulation,
  type DriverSimulationOptions,
  type DriverSimulationResult,
} from './driver-simulation.ts';

export interface CheckedDriverRun extends DriverSimulationResult {
  /** The invariant violation, or a linearizability verdict other than linearizable. */
  readonly failure: string | null;
  readonly operations: number;
}

/** One seed of the production driver, end to end: the run and its checks, then linearizability. */
export async function checkDriverSeed(
  options: DriverSimulationOptions,
  checkerTimeoutMs = 30_000,
): Promise<CheckedDriverRun> {
  return judgeRun(await runDriverSimulation(options), checkerTimeoutMs);
}
