import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { validateImdgoOptions } from './imdgo-options.ts';

describe('the timing defaults (README, Options)', () => {
  it('heartbeat every 50 ms and an election timeout of 500 ms, randomized up to 1 s', () => {
    const options = validateImdgoOptions({ members: ['127.0.0.1:6701'] });
    expect(options.tickMs * options.heartbeatTicks).toBe(50);
    expect(options.tickMs * options.electionTicks).toBe(500);
  });
});
