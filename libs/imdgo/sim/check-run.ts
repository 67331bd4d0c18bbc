import { checkOperations, imdgoEventsToOperations, imdgoKvModel } from '../src/checker/index.ts';
import { runSimulation, type SimulationOptions, type SimulationResult } from './simulation.ts';

export interface CheckedRun extends SimulationResult {
  /** The invariant violation, or a linearizability verdict other than linearizable. */
  readonly failure: string | null;
  readonly operations: number;
}

/** One seed, end to end: the run with its continuous invariant checks, then its history's linearizability. */
export function checkSeed(options: SimulationOptions, checkerTimeoutMs = 30_000): CheckedRun {
  return judgeRun(runSimulation(options), checkerTimeoutMs);
}

/** A run's failure: its invariant violation, else a linearizability verdict other than linearizable. */
export function judgeRun<
  Run extends {
    readonly violation: string | null;
    readonly history: Parameters<typeof imdgoEventsToOperations>[0];
  },
>(
  result: Run,
  checkerTimeoutMs: number,
): Run & { readonly failure: string | null; readonly operations: number } {
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
