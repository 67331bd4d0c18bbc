import { describe, expect, it } from 'vitest';
import { copyValue } from './copy-value.ts';

describe('copyValue', () => {
  it('answers primitives as they are', () => {
    for (const value of ['s', 1, true, null, undefined, 10n]) expect(copyValue(value)).toBe(value);
  });

  it('copies plain objects and arrays through, sharing no object with the value', () => {
    const value = { user: { name: 'a', tags: ['x', ['y']] }, list: [{ n: 1 }], nothing: undefined };
    const copy = copyValue(value);
    expect(copy).toStrictEqual(value);
    expect(copy.user).not.toBe(value.user);
    expect(copy.user.tags).not.toBe(value.user.tags);
    expect(copy.user.tags[1]).not.toBe(value.user.tags[1]);
    expect(copy.list[0]).not.toBe(value.list[0]);
  });

  it('keeps shared and cyclic references, as msgpack decodes them', () => {
    const shared = { n: 1 };
    const value: Record<string, unknown> = { a: shared, b: [shared] };
    value.self = value;
    const copy = copyValue(value);
    expect(copy.a).not.toBe(shared);
    expect((copy.b as unknown[])[0]).toBe(copy.a);
    expect(copy.self).toBe(copy);
  });

  it('copies other containers whole, each of its own type, nested in plain ones too', () => {
    const value = {
      map: new Map([['k', { n: 1 }]]),
      set: new Set([1]),
      date: new Date(5),
      bytes: Buffer.from('ab'),
      list: [new Uint8Array([1])],
    };
    const copy = copyValue(value);
    expect(copy).toStrictEqual(value);
    expect(copy.map).not.toBe(value.map);
    expect(copy.map.get('k')).not.toBe(value.map.get('k'));
    expect(copy.set).not.toBe(value.set);
    expect(copy.date).not.toBe(value.date);
    expect(Buffer.isBuffer(copy.bytes)).toBe(true);
    expect(copy.bytes).not.toBe(value.bytes);
    expect(copy.list[0]).not.toBe(value.list[0]);
  });
});
