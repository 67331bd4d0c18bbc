import { runClosedLoop, type LoadWindow } from './closed-loop.ts';
import type { LoadSummary } from './latency.ts';
import { runOpenLoop } from './open-loop.ts';

/** A closed loop of `concurrency` workers, or an open one at `arrivalPerSec` when the run names a rate. */
export function runLoad(
  operation: () => Promise<unknown>,
  spec: { readonly concurrency: number; readonly arrivalPerSec?: number | undefined },
  window: LoadWindow,
): Promise<LoadSummary> {
  return spec.arrivalPerSec === undefined
    ? runClosedLoop(operation, spec.concurrency, window)
    : runOpenLoop(operation, spec.arrivalPerSec, spec.concurrency, window);
}
