import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Latencies, type LoadSummary } from './latency.ts';

/**
 * Longest stretch the workers may run without letting timers and I/O in. Operations that settle in
 * microtasks alone (local reads) would otherwise starve the node they run in: its Raft ticks, its peers'
 * messages and the orchestrator's requests.
 */
const SLICE_MS = 20;

export interface LoadWindow {
  readonly warmupMs: number;
  readonly durationMs: number;
}

/**
 * Closed loop: `concurrency` workers each issue the next operation as soon as the previous one settles.
 * Only operations that complete inside the measured window (after the warm-up) count, in throughput and
 * in latency alike.
 */
export async function runClosedLoop(
  operation: () => Promise<unknown>,
  concurrency: number,
  window: LoadWindow,
): Promise<LoadSummary> {
  const latencies = new Latencies();
  const begin = performance.now();
  const measureFrom = begin + window.warmupMs;
  const measureTo = measureFrom + window.durationMs;
  let sliceStart = begin;
  // A slice ends at any turn of the event loop, not only at a worker's yield: writes settle on I/O, so the
  // loop turns on its own, and a worker that yielded anyway would miss its wave and start one of its own.
  let turnWatched = false;
  const markTurn = (): void => {
    turnWatched = false;
    sliceStart = performance.now();
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      let started = performance.now();
      if (started - sliceStart > SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = started = performance.now();
      }
      if (!turnWatched) {
        turnWatched = true;
        setImmediate(markTurn);
      }
      if (started >= measureTo) return;
      try {
        await operation();
        const ended = performance.now();
        if (ended >= measureFrom && ended < measureTo) latencies.record(ended - started);
      } catch (error) {
        const ended = performance.now();
        if (ended >= measureFrom && ended < measureTo) latencies.error(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies.summarize(window.durationMs);
}
