import { describe, expect, it } from 'vitest';
import { imdgoKvModel } from './imdgo-kv.ts';

const key = 'k';

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
    const start = imdgoKvModel.init();
    const created = imdgoKvModel.step(start, { op: 'cas', key, expected: null, next: [1] }, { ok: true });
    expect(created).toEqual({ ok: true, state: '[1]' });
    expect(
      imdgoKvModel.step(created.state, { op: 'cas', key, expected: [1], next: 2 }, { ok: false }).ok,
    ).toBe(false);
    expect(
      imdgoKvModel.step(created.state, { op: 'cas', key, expected: [2], next: 2 }, { ok: false }),
    ).toEqual({
      ok: true,
      state: '[1]',
    });
  });

  it('accepts an unknown outcome, applying the operation as if it took effect', () => {
    expect(imdgoKvModel.step('1', { op: 'cas', key, expected: 1, next: 2 }, undefined)).toEqual({
      ok: true,
      state: '2',
    });
    expect(imdgoKvModel.step('1', { op: 'get', key }, undefined)).toEqual({ ok: true, state: '1' });
  });
});
