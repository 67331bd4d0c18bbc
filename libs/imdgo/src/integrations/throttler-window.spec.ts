import { describe, expect, it } from 'vitest';
import { nextWindow, type ThrottlerWindow } from './throttler-storage.ts';

/** Hits at the given times, each on the window the previous one left. */
function hits(times: number[], ttl: number, limit: number, block: number): ThrottlerWindow[] {
  const out: ThrottlerWindow[] = [];
  let window: ThrottlerWindow | undefined;
  for (const now of times) {
    window = nextWindow(window, now, ttl, limit, block);
    out.push(window);
  }
  return out;
}

describe('the throttler window', () => {
  it('counts hits in a fixed window and blocks the one over the limit for blockDuration', () => {
    const windows = hits([0, 10, 20, 30], 1_000, 2, 5_000);
    expect(windows.map((w) => w.hits)).toEqual([1, 2, 3, 3]);
    expect(windows.map((w) => w.blockedUntil)).toEqual([0, 0, 5_020, 5_020]);
    expect(windows.every((w) => w.windowEndsAt === 1_000)).toBe(true);
  });

  it('stays blocked past the window until the block ends, then starts a new window with this hit', () => {
    const [, , blocked, during, after] = hits([0, 1, 2, 1_500, 5_002], 1_000, 2, 5_000);
    expect(blocked!.blockedUntil).toBe(5_002);
    expect(during).toEqual(blocked);
    expect(after).toEqual({ hits: 1, windowEndsAt: 6_002, blockedUntil: 0 });
  });

  it('starts a new window once the old one ended', () => {
    const [, second] = hits([0, 1_000], 1_000, 5, 1_000);
    expect(second).toEqual({ hits: 1, windowEndsAt: 2_000, blockedUntil: 0 });
  });

  it('blocks to the end of the window when blockDuration is 0', () => {
    const [, over] = hits([0, 10], 1_000, 1, 0);
    expect(over!.blockedUntil).toBe(1_000);
  });
});
