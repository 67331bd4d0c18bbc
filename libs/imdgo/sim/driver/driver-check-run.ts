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

/**
 * One seed of the production driver, end to end: the run and its checks, then linearizability. An error
 * that escapes a node (a rejected promise nobody handles) fails the seed: in an app it would end the process.
 */
export async function checkDriverSeed(
  options: DriverSimulationOptions,
  checkerTimeoutMs = 30_000,
): Promise<CheckedDriverRun> {
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);
  process.on('unhandledRejection', record);
  let result: DriverSimulationResult;
  try {
    result = await runDriverSimulation(options);
    // Unhandled rejections are reported once the microtask queue drains.
    await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', record);
  }
  const checked = await judgeRun(result, checkerTimeoutMs);
  if (escaped.length === 0 || checked.failure !== null) return checked;
  const first = escaped[0];
  const detail = first instanceof Error ? (first.stack ?? first.message) : String(first);
  return { ...checked, failure: `an error escaped a node unhandled: ${detail}` };
}
