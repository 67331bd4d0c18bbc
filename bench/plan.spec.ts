import { describe, expect, it } from 'vitest';
import { interleave, planRuns } from './plan.ts';

describe('interleave', () => {
  it('runs each row on every system in turn, round after round', () => {
    const imdgo = planRuns('imdgo', ['write'], [64], ['leader']);
    const etcd = planRuns('etcd', ['write'], [64], ['leader']);
    const redis = planRuns('redis', ['write'], [64]);
    const slots = interleave([imdgo, etcd, redis], 2);
    expect(slots.map((slot) => `${slot.round}:${slot.system}`)).toEqual([
      '1:0',
      '1:1',
      '1:2',
      '2:0',
      '2:1',
      '2:2',
    ]);
  });

  it('leaves out a system that lacks a row, and keeps the row order of the first system', () => {
    const imdgo = planRuns('imdgo', ['write', 'local'], [1, 64], ['leader']);
    const redis = planRuns('redis', ['write', 'local'], [1, 64]);
    const slots = interleave([imdgo, redis], 1);
    const peek = slots.filter((slot) => slot.spec.workload === 'local-peek');
    expect(peek.map((slot) => slot.system)).toEqual([0]);
    expect(slots.filter((slot) => slot.system === 1).map((slot) => slot.spec.concurrency)).toEqual([1, 64]);
  });
});

describe('planRuns', () => {
  it('adds the open-loop write at the highest concurrency, and serializable-read peers to local reads', () => {
    const etcd = planRuns('etcd', ['write', 'local'], [1, 64], ['leader'], 2000);
    expect(etcd).toContainEqual({ workload: 'write', concurrency: 64, on: 'leader', arrivalPerSec: 2000 });
    expect(etcd).toContainEqual({ workload: 'local-get', concurrency: 64, on: 'follower' });
    const imdgoWire = planRuns('imdgo', ['local'], [1, 64], ['leader'], null, 'wire');
    expect(imdgoWire).toEqual([{ workload: 'local-get', concurrency: 64, on: 'follower' }]);
  });
});
