import type { Operation } from '../types.ts';

/**
 * Groups operations by the key they touch, in order of first appearance. Operations on different
 * keys commute, so a history is linearizable exactly when each group is (P-compositionality), and
 * small groups are far cheaper to search than the whole history.
 */
export function partitionByKey<I extends { key: string }, O>(
  ops: readonly Operation<I, O>[],
): Operation<I, O>[][] {
  const groups = new Map<string, Operation<I, O>[]>();
  for (const op of ops) {
    const group = groups.get(op.input.key);
    if (group === undefined) groups.set(op.input.key, [op]);
    else group.push(op);
  }
  return [...groups.values()];
}
