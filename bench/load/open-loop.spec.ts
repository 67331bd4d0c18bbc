import { describe, expect, it } from 'vitest';
import { runOpenLoop } from './open-loop.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runOpenLoop', () => {
  it('never counts an operation as faster than it took, when workers get to operations before they are due', async () => {
    // 2,000/s with 16 workers and operations of one event-loop turn: each next operation is due in under a
    // millisecond, too soon for a timer, so it is issued early. Counted from when it was due, it took
    // less than nothing (recorded as the histogram's floor, a nanosecond).
    const summary = await runOpenLoop(nextTurn, 2_000, 16, { warmupMs: 100, durationMs: 400 });
    expect(summary.ops).toBeGreaterThan(0);
    expect(summary.p50Ms).toBeGreaterThan(0.001);
  });
});
