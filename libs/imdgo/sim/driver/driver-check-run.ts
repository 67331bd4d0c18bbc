import { checkOperations, imdgoEventsToOperations, imdgoKvModel } from '../../src/checker/index.ts';
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
  const result = await runDriverSimulation(options);
  const operations = imdgoEventsToOperations(result.history);
  if (result.violation) return { ...result, failure: result.violation, operations: operations.length };
  const verdict = checkOperations(imdgoKvModel, operations, { timeoutMs: checkerTimeoutMs });
  const failure =
    verdict.result === 'linearizable'
      ? null
      : verdict.result === 'unknown'
        ? `linearizability check timed out after ${checkerTimeoutMs} ms`
        : 'history is not linearizable';
  return { ...result, failure, operations: operations.length };
}
