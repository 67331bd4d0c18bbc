import { setTimeout as sleep } from 'node:timers/promises';
import { Latencies, type LoadSummary } from './latency.ts';
import type { LoadWindow } from './closed-loop.ts';

/** A wait shorter than this is skipped: a timer would overshoot it by about a millisecond. */
const MIN_WAIT_MS = 1;

/**
 * Open loop: operations are due at a fixed rate, `arrivalPerSec`, whatever the system's pace, and
 * `concurrency` workers (connections) take them in order. Latency runs from when an operation was due, not
 * from when a worker got to it, so the queueing delay a closed loop hides (coordinated omission) counts.
 * A worker that gets to an operation less than a timer's precision before it is due issues it at once;
 * its latency then runs from when it was issued, or it would count time before it was due as negative.
 * Only operations due inside the measured window count; throughput is over that window. Operations due in
 * the window but not yet issued when it ends (the system fell behind) count as errors.
 */
export async function runOpenLoop(
  operation: () => Promise<unknown>,
  arrivalPerSec: number,
  concurrency: number,
  window: LoadWindow,
): Promise<LoadSummary> {
  const latencies = new Latencies();
  const begin = performance.now();
  const measureFrom = begin + window.warmupMs;
  const measureTo = measureFrom + window.durationMs;
  const intervalMs = 1000 / arrivalPerSec;
  let next = 0;
  const worker = async (): Promise<void> => {
    // A system that falls behind leaves operations due but never issued by the end: errors, below.
    while (performance.now() < measureTo) {
      const due = begin + next * intervalMs;
      if (due >= measureTo) return;
      next++;
      const wait = due - performance.now();
      if (wait >= MIN_WAIT_MS) await sleep(wait);
      const counted = due >= measureFrom;
      const from = Math.min(due, performance.now());
      try {
        await operation();
        if (counted) latencies.record(performance.now() - from);
      } catch (error) {
        if (counted) latencies.error(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const dueInWindow =
    Math.ceil((measureTo - begin) / intervalMs) - Math.ceil((measureFrom - begin) / intervalMs);
  const issuedInWindow = Math.max(0, next - Math.ceil((measureFrom - begin) / intervalMs));
  for (let i = issuedInWindow; i < dueInWindow; i++)
    latencies.error('due but not issued: behind the arrival rate');
  return latencies.summarize(window.durationMs);
}
