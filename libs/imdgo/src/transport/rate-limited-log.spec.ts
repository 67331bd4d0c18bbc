import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from './rate-limited-log.ts';

describe('RateLimitedLog', () => {
  it('passes a few lines per window, then counts what it left out when the next window opens', () => {
    let now = 0;
    const lines: string[] = [];
    const log = new RateLimitedLog({ warn: (line) => lines.push(line) }, 2, 1_000, () => now);
    for (let i = 1; i <= 5; i++) log.warn(`attempt ${i}`);
    expect(lines).toEqual(['attempt 1', 'attempt 2']);
    now = 999;
    log.warn('attempt 6');
    expect(lines).toHaveLength(2);
    now = 1_000;
    log.warn('attempt 7');
    expect(lines).toEqual([
      'attempt 1',
      'attempt 2',
      '4 similar lines left out in the window of 1000 ms before',
      'attempt 7',
    ]);
  });
});
