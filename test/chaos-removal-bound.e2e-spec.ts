import { describe, expect, it } from 'vitest';
import { removalTimeoutMs } from '../chaos/removal-bound.ts';

describe('chaos removal bound', () => {
  it('with one group, allows a configuration change a few request timeouts', () => {
    expect(removalTimeoutMs(1, 2_000)).toBe(8_000);
  });

  it('with partitions, allows a drain well beyond a configuration change, growing with the partitions', () => {
    // seed 1330138921 (8 partitions, 2 s requests): the drain outlived 8 s and then completed anyway.
    expect(removalTimeoutMs(8, 2_000)).toBeGreaterThanOrEqual(60_000);
    expect(removalTimeoutMs(64, 2_000)).toBeGreaterThan(removalTimeoutMs(8, 2_000));
    // Still bounded: a drain that never ends fails the run within ImdgoCluster's own 5-minute default.
    expect(removalTimeoutMs(64, 2_000)).toBeLessThanOrEqual(300_000);
  });

  it('refuses a partition count that is not a positive integer', () => {
    expect(() => removalTimeoutMs(0, 2_000)).toThrow('partitions must be a positive integer, got 0');
    expect(() => removalTimeoutMs(1.5, 2_000)).toThrow('partitions must be a positive integer, got 1.5');
  });
});
