import { describe, expect, it } from 'vitest';
import { answeredFloorViolations } from '../chaos/answered-floor.ts';
import type { FaultWindow } from '../chaos/nemesis.ts';

const window = (overrides: Partial<FaultWindow>): FaultWindow => ({
  index: 0,
  kind: 'pause-follower',
  invoked: 10,
  answered: 0,
  from: 0,
  to: 1_000,
  majorityDuring: true,
  ...overrides,
});

describe('the answered-per-window floor', () => {
  it('fails a window with a connected majority that answered too little', () => {
    expect(answeredFloorViolations([window({ answered: 0 })], 0.1)).toEqual([
      'fault 0 pause-follower: 0 of 10 operations answered, under 10%',
    ]);
    expect(answeredFloorViolations([window({ answered: 1 })], 0.1)).toEqual([]);
  });

  it('leaves alone a window whose fault took the majority away (seed 1525572229: a follower paused while the other was still rejoining empty)', () => {
    expect(answeredFloorViolations([window({ majorityDuring: false })], 0.1)).toEqual([]);
  });

  it('holds partitions that cut the leader off to the floor too: a forwarded call follows the new leader', () => {
    expect(answeredFloorViolations([window({ kind: 'partition-leader' })], 0.1)).toEqual([
      'fault 0 partition-leader: 0 of 10 operations answered, under 10%',
    ]);
  });
});
