import { describe, expect, it } from 'vitest';
import { MIN_PARTITION_HISTORY, partitionHistory } from './imdgo-runtime.ts';

describe('change events kept per partition', () => {
  it('splits watchHistorySize over the partitions, never below what following a partition needs', () => {
    expect(partitionHistory(64_000, 16)).toBe(4_000);
    expect(partitionHistory(10_000, 16)).toBe(MIN_PARTITION_HISTORY);
    expect(partitionHistory(0, 4)).toBe(MIN_PARTITION_HISTORY);
  });
});
