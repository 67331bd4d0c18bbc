/**
 * Milliseconds on CLOCK_MONOTONIC, which every process on the machine shares: a kill time taken in the
 * orchestrator compares directly with write completions timed inside a node process.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
