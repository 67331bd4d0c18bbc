import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { validateImdgoOptions } from './imdgo-options.ts';

describe('the timing defaults (README, Options)', () => {
  it('heartbeat every 65 ms and an election timeout of 650 ms, randomized up to 1.3 s', () => {
    const options = validateImdgoOptions({ members: ['127.0.0.1:6701'] });
    expect(options.tickMs * options.heartbeatTicks).toBe(65);
    expect(options.tickMs * options.electionTicks).toBe(650);
  });
});
