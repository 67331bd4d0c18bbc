import { describe, expect, it } from 'vitest';
import { registerModel } from './etcd-register.ts';

describe('registerModel', () => {
  it('starts absent and reads what was written', () => {
    const start = registerModel.init();
    expect(registerModel.step(start, { op: 'read' }, { value: null })).toEqual({ ok: true, state: null });
    expect(registerModel.step(start, { op: 'read' }, { value: 0 }).ok).toBe(false);
    expect(registerModel.step(start, { op: 'write', value: 3 }, { ok: true })).toEqual({
      ok: true,
      state: 3,
    });
  });

  it('applies a cas only when the value matches, and checks the answer against that', () => {
    expect(registerModel.step(3, { op: 'cas', from: 3, to: 4 }, { ok: true })).toEqual({
      ok: true,
      state: 4,
    });
    expect(registerModel.step(3, { op: 'cas', from: 3, to: 4 }, { ok: false }).ok).toBe(false);
    expect(registerModel.step(2, { op: 'cas', from: 3, to: 4 }, { ok: false })).toEqual({
      ok: true,
      state: 2,
    });
    expect(registerModel.step(2, { op: 'cas', from: 3, to: 4 }, { ok: true }).ok).toBe(false);
  });

  it('accepts any unknown outcome, applying the operation as if it took effect', () => {
    expect(registerModel.step(3, { op: 'cas', from: 3, to: 4 }, undefined)).toEqual({ ok: true, state: 4 });
    expect(registerModel.step(2, { op: 'read' }, undefined)).toEqual({ ok: true, state: 2 });
  });

  it('keys absent and zero apart', () => {
    expect(registerModel.key(null)).not.toBe(registerModel.key(0));
  });
});
