import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StallWatch } from '../chaos/stall-watch.ts';

const LIMIT_MS = 1_000;

describe('chaos stall watch', () => {
  let connected: boolean;
  let lastAnswerAt: number;
  let watch: StallWatch;

  beforeEach(() => {
    vi.useFakeTimers();
    connected = true;
    lastAnswerAt = Date.now();
    watch = new StallWatch(
      { majorityConnected: () => connected, checkAdmissions: async () => {} },
      () => lastAnswerAt,
      LIMIT_MS,
    );
    watch.start();
  });

  afterEach(() => {
    watch.stop();
    vi.useRealTimers();
  });

  it('reports a connected majority that answers nothing for longer than the limit, once per stall', async () => {
    await vi.advanceTimersByTimeAsync(LIMIT_MS - 200);
    expect(watch.stalls).toEqual([]);
    await vi.advanceTimersByTimeAsync(5 * LIMIT_MS);
    expect(watch.stalls).toEqual([expect.stringMatching(/no operation was answered for \d+ ms/)]);
    // Answers resume, then stop again: a second stall.
    lastAnswerAt = Date.now();
    await vi.advanceTimersByTimeAsync(LIMIT_MS + 300);
    expect(watch.stalls).toHaveLength(2);
  });

  it('does not count the time without a connected majority, nor a cluster that keeps answering', async () => {
    connected = false;
    await vi.advanceTimersByTimeAsync(5 * LIMIT_MS);
    connected = true;
    await vi.advanceTimersByTimeAsync(LIMIT_MS - 200);
    expect(watch.stalls).toEqual([]);
    for (let i = 0; i < 20; i++) {
      lastAnswerAt = Date.now();
      await vi.advanceTimersByTimeAsync(LIMIT_MS / 2);
    }
    expect(watch.stalls).toEqual([]);
  });
});
