import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { validateImdgoOptions } from './imdgo-options.ts';

const five = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];

describe('partitions and replicas options', () => {
  it('default to one partition (no grid) and three replicas', () => {
    const options = validateImdgoOptions({ members: five });
    expect(options.partitions).toBe(1);
    expect(options.replicas).toBe(3);
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
