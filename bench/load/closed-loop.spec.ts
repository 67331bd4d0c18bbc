import { describe, expect, it } from 'vitest';
import { runClosedLoop } from './closed-loop.ts';

describe('runClosedLoop', () => {
  it('keeps workers whose operations settle on I/O in one wave: none yields and starts a wave of its own', async () => {
    // A wave: the operations started between two turns of the event loop. Operations wait on one timer, as
    // forwarded writes wait on one answer, so all workers settle in one turn and start the next wave together.
    const waves: number[] = [];
    let turnNoted = false;
    let answer: (() => void)[] = [];
    const operation = (): Promise<void> => {
      if (!turnNoted) {
        turnNoted = true;
        waves.push(0);
        setImmediate(() => (turnNoted = false));
      }
      waves[waves.length - 1]! += 1;
      if (answer.length === 0) {
        setTimeout(() => {
          const settled = answer;
          answer = [];
          for (const resolve of settled) resolve();
        }, 2);
      }
      return new Promise((resolve) => answer.push(resolve));
    };
    // Long enough for several of the loop's 20 ms slices.
    await runClosedLoop(operation, 8, { warmupMs: 0, durationMs: 200 });
    expect(waves.length).toBeGreaterThan(10);
    // The last wave may be cut short by the end of the window.
    expect(waves.slice(0, -1).filter((size) => size !== 8)).toEqual([]);
  });
});
