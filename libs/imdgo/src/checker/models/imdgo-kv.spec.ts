import { describe, expect, it } from 'vitest';
import type { ImdgoKvInput, ImdgoKvOutput } from './imdgo-kv.ts';
import { imdgoKvModel } from './imdgo-kv.ts';

const key = 'k';

/** Runs the steps from the initial state; the state after them, or the index of the first refused step. */
function run(steps: readonly (readonly [ImdgoKvInput, ImdgoKvOutput | undefined])[]): string | number {
  let state = imdgoKvModel.init();
  for (const [index, [input, output]] of steps.entries()) {
    const result = imdgoKvModel.step(state, input, output);
    if (!result.ok) return index;
    state = result.state;
  }
  return state;
}

describe('imdgoKvModel', () => {
  it('reads null when absent and values equal up to object key order', () => {
    const start = imdgoKvModel.init();
    expect(imdgoKvModel.step(start, { op: 'get', key }, { value: null }).ok).toBe(true);
    const set = imdgoKvModel.step(start, { op: 'set', key, value: { a: 1, b: [2] } }, { ok: true });
    expect(imdgoKvModel.step(set.state, { op: 'get', key }, { value: { b: [2], a: 1 } }).ok).toBe(true);
    expect(imdgoKvModel.step(set.state, { op: 'get', key }, { value: { a: 1 } }).ok).toBe(false);
    const deleted = imdgoKvModel.step(set.state, { op: 'delete', key }, { ok: true });
    expect(imdgoKvModel.step(deleted.state, { op: 'get', key }, { value: null }).ok).toBe(true);
  });

  it('compares a cas deeply, null expecting absence', () => {
    const created = [{ op: 'cas', key, expected: null, next: [1] }, { ok: true }] as const;
    expect(run([created, [{ op: 'get', key }, { value: [1] }]])).toBeTypeOf('string');
    expect(run([created, [{ op: 'cas', key, expected: [1], next: 2 }, { ok: false }]])).toBe(1);
    expect(run([created, [{ op: 'cas', key, expected: [2], next: 2 }, { ok: false }]])).toBe(run([created]));
  });

  it('accepts an unknown outcome, applying the operation as if it took effect', () => {
    const set = [{ op: 'set', key, value: 1 }, { ok: true }] as const;
    const unknownCas = [{ op: 'cas', key, expected: 1, next: 2 }, undefined] as const;
    expect(run([set, unknownCas, [{ op: 'get', key }, { value: 2 }]])).toBeTypeOf('string');
    expect(run([set, [{ op: 'get', key }, undefined]])).toBe(run([set]));
  });

  it('counts each increment exactly once', () => {
    const increment = (value: number) => [{ op: 'increment', key, delta: 2 }, { value }] as const;
    expect(run([increment(2), increment(4), [{ op: 'get', key }, { value: 4 }]])).toBeTypeOf('string');
    // Applied twice: the second answer, or a read, shows one delta too many.
    expect(run([increment(2), increment(6)])).toBe(1);
    expect(run([increment(2), [{ op: 'get', key }, { value: 4 }]])).toBe(1);
  });

  it('tracks versions for setIfVersion and reads, resetting them on delete', () => {
    expect(
      run([
        [{ op: 'set', key, value: 'a' }, { ok: true }],
        [{ op: 'set', key, value: 'b' }, { ok: true }],
        [{ op: 'setIfVersion', key, version: 2, value: 'c' }, { ok: true }],
        [
          { op: 'get', key },
          { value: 'c', version: 3 },
        ],
        [{ op: 'delete', key }, { ok: true }],
        [{ op: 'setIfVersion', key, version: 0, value: 'd' }, { ok: true }],
        [
          { op: 'get', key },
          { value: 'd', version: 1 },
        ],
      ]),
    ).toBeTypeOf('string');
    expect(run([[{ op: 'setIfVersion', key, version: 1, value: 'a' }, { ok: true }]])).toBe(0);
    expect(
      run([
        [
          { op: 'get', key },
          { value: null, version: 1 },
        ],
      ]),
    ).toBe(0);
  });

  it('refuses putIfAbsent on a present key and a delete that found nothing on one', () => {
    const set = [{ op: 'set', key, value: 1 }, { ok: true }] as const;
    expect(run([set, [{ op: 'putIfAbsent', key, value: 2 }, { ok: true }]])).toBe(1);
    expect(run([set, [{ op: 'putIfAbsent', key, value: 2 }, { ok: false }]])).toBe(run([set]));
    expect(run([set, [{ op: 'delete', key }, { ok: false }]])).toBe(1);
    expect(run([[{ op: 'delete', key }, { ok: false }]])).toBe(imdgoKvModel.init());
  });

  it('lets a key with a TTL expire at any moment, but never come back', () => {
    const setTtl = [{ op: 'set', key, value: 1, ttl: true }, { ok: true }] as const;
    const read = (value: number | null) => [{ op: 'get', key }, { value }] as const;
    expect(run([setTtl, read(1), read(null)])).toBeTypeOf('string');
    expect(run([setTtl, read(null), read(1)])).toBe(2);
    // Expired before the increment: it starts again from 0.
    expect(run([setTtl, [{ op: 'increment', key, delta: 5 }, { value: 5 }]])).toBeTypeOf('string');
    // A write without a TTL makes the key permanent.
    expect(run([setTtl, [{ op: 'set', key, value: 2 }, { ok: true }], read(null)])).toBe(2);
  });
});
