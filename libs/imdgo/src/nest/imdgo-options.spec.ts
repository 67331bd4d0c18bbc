import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { validateImdgoOptions } from './imdgo-options.ts';

const five = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];

describe('partitions and replicas options', () => {
  it('default to 64 partitions and three replicas', () => {
    const options = validateImdgoOptions({ members: five });
    expect(options.partitions).toBe(64);
    expect(options.replicas).toBe(3);
  });

  it('cap the default replicas at one and two members', () => {
    expect(validateImdgoOptions({ members: ['a:1'] }).replicas).toBe(1);
    expect(validateImdgoOptions({ members: ['a:1', 'b:1'] }).replicas).toBe(2);
  });

  it('cap replicas at the number of members', () => {
    expect(validateImdgoOptions({ members: ['a:1', 'b:1'], partitions: 8 }).replicas).toBe(2);
    expect(validateImdgoOptions({ members: five, partitions: 8, replicas: 9 }).replicas).toBe(5);
    expect(validateImdgoOptions({ members: five, partitions: 8, replicas: 1 }).replicas).toBe(1);
  });

  it.each([
    [{ partitions: 0 }, /"partitions" \(value 0\): partitions must not be less than 1/],
    [{ partitions: 1.5 }, /"partitions" \(value 1\.5\): partitions must be an integer/],
    [{ partitions: 65_537 }, /"partitions" \(value 65537\): partitions must not be greater than 65536/],
    [{ replicas: -1 }, /"replicas" \(value -1\): replicas must not be less than 1/],
  ])('refuses %j naming the field', (extra, message) => {
    expect(() => validateImdgoOptions({ members: five, ...extra })).toThrow(message);
  });
});

describe('placement options', () => {
  const defaults = {
    intervalMs: 1_000,
    failureDetectionMs: 3_000,
    moveTimeoutMs: 60_000,
    maxConcurrentMoves: 4,
  };

  it('default to a 30 s dead-member timeout and the placement loop’s defaults', () => {
    const options = validateImdgoOptions({ members: five, partitions: 8 });
    expect(options.deadMemberTimeoutMs).toBe(30_000);
    expect(options.placement).toEqual(defaults);
  });

  it('take a partial placement tuning, keeping the other defaults', () => {
    const options = validateImdgoOptions({
      members: five,
      deadMemberTimeoutMs: 2_000,
      placement: { intervalMs: 200, maxConcurrentMoves: 8 },
    });
    expect(options.deadMemberTimeoutMs).toBe(2_000);
    expect(options.placement).toEqual({ ...defaults, intervalMs: 200, maxConcurrentMoves: 8 });
  });

  it.each([
    [
      { deadMemberTimeoutMs: -1 },
      /"deadMemberTimeoutMs" \(value -1\): deadMemberTimeoutMs must not be less than 0/,
    ],
    [
      { placement: { intervalMs: 0 } },
      /"placement\.intervalMs" \(value 0\): intervalMs must not be less than 1/,
    ],
    [
      { placement: { maxConcurrentMoves: 1.5 } },
      /"placement\.maxConcurrentMoves" \(value 1\.5\): maxConcurrentMoves must be an integer/,
    ],
    [{ placement: { moveTimeout: 5 } }, /unknown option "placement\.moveTimeout"/],
  ])('refuses %j naming the field', (extra, message) => {
    expect(() => validateImdgoOptions({ members: five, ...extra })).toThrow(message);
  });
});
