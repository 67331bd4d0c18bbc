import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.ts';
import { ExpiryIndex, type ExpiryCandidate } from './expiry-index.ts';

function byDeadlineMapKey(a: ExpiryCandidate, b: ExpiryCandidate): number {
  return a.expiresAt - b.expiresAt || (a.map + '\0' + a.key < b.map + '\0' + b.key ? -1 : 1);
}

function keysInOrder(index: ExpiryIndex): string[] {
  return [...index.ascending()].map((c) => c.key);
}

describe('the expiry index', () => {
  it('holds one entry per key and iterates in (deadline, map, key) order through sets, rewrites and deletes', () => {
    const random = new SeededRandom(7);
    const index = new ExpiryIndex();
    const reference = new Map<string, ExpiryCandidate>();
    for (let step = 0; step < 5_000; step++) {
      const map = `m${random.int(3)}`;
      const key = `k${random.int(200)}`;
      const roll = random.int(10);
      if (roll < 2) {
        index.delete(map, key);
        reference.delete(`${map}\0${key}`);
      } else {
        // Few distinct deadlines, so ties are frequent and ordered by map and key.
        const expiresAt = roll === 2 ? null : random.int(20);
        index.set(map, key, expiresAt);
        if (expiresAt === null) reference.delete(`${map}\0${key}`);
        else reference.set(`${map}\0${key}`, { expiresAt, map, key });
      }
    }
    const expected = [...reference.values()].sort(byDeadlineMapKey);
    expect(index.size).toBe(expected.length);
    expect([...index.ascending()].map(({ expiresAt, map, key }) => ({ expiresAt, map, key }))).toEqual(
      expected,
    );
  });

  it('iterates the same set in the same order whatever order it was built in', () => {
    const keys = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, expiresAt: i % 7 }));
    const forward = new ExpiryIndex();
    const backward = new ExpiryIndex();
    for (const { key, expiresAt } of keys) forward.set('', key, expiresAt);
    for (const { key, expiresAt } of keys.toReversed()) backward.set('', key, expiresAt);
    expect(keysInOrder(forward)).toEqual(keysInOrder(backward));
  });
});
