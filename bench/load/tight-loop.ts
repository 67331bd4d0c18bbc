import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Latencies, type LoadSummary } from './latency.ts';
import type { LoadWindow } from './closed-loop.ts';

/** Operations between clock reads: one synchronous read is shorter than the clock's own cost. */
const BATCH = 1000;
/** How long the loop holds the event loop before it lets the node's timers and sockets run. */
const SLICE_MS = 20;

/**
 * A synchronous read in a tight loop, as an app's hot path would call it. Latency is the mean over each
 * batch of BATCH reads, recorded BATCH times; the loop yields every SLICE_MS so the node it runs in keeps
 * serving Raft traffic, and throughput is over wall-clock time, yields included. A read that finds
 * nothing (every key was loaded beforehand) counts as an error, which also keeps the result in use.
 */
export async function runTightLoop(read: () => unknown, window: LoadWindow): Promise<LoadSummary> {
  const latencies = new Latencies();
  const measureFrom = performance.now() + window.warmupMs;
  const measureTo = measureFrom + window.durationMs;
  for (;;) {
    const sliceStart = performance.now();
    if (sliceStart >= measureTo) break;
    let now = sliceStart;
    while (now - sliceStart < SLICE_MS && now < measureTo) {
      const started = now;
      let misses = 0;
      for (let i = 0; i < BATCH; i++) if (read() === undefined) misses++;
      now = performance.now();
      if (started < measureFrom || now >= measureTo) continue;
      latencies.record((now - started) / BATCH, BATCH - misses);
      for (let i = 0; i < misses; i++) latencies.error('key not found');
    }
    await yieldToEventLoop();
  }
  return latencies.summarize(window.durationMs);
}
