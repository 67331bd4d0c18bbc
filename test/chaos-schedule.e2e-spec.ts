import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, faultPlan, type PlannedFault } from '../chaos/schedule.ts';

function first(seed: number, count: number): PlannedFault[] {
  const out: PlannedFault[] = [];
  for (const fault of faultPlan(seed, 300)) {
    if (out.length === count) break;
    out.push(fault);
  }
  return out;
}

describe('chaos fault schedule', () => {
  it('is the same for the same seed and differs between seeds', () => {
    expect(first(7, 40)).toEqual(first(7, 40));
    expect(first(7, 40)).not.toEqual(first(8, 40));
  });

  it('has every kind of fault in each round, and holds a pause past two election timeouts', () => {
    const plan = first(3, FAULT_KINDS.length * 3);
    for (let round = 0; round < 3; round++) {
      const kinds = plan
        .slice(round * FAULT_KINDS.length, (round + 1) * FAULT_KINDS.length)
        .map((f) => f.kind);
      expect(kinds.toSorted()).toEqual([...FAULT_KINDS].sort());
    }
    for (const fault of plan) expect(fault.holdMs).toBeGreaterThan(600);
  });
});
