import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, packFrame, unpackBody, wireClone } from './msgpack-codec.ts';

describe('msgpack codec', () => {
  it('frames a value as a 4-byte big-endian body length followed by the body', () => {
    const frame = packFrame({ pattern: 'p', data: 'x'.repeat(300) });
    expect(frame.readUInt32BE(0)).toBe(frame.length - FRAME_HEADER_BYTES);
    expect(unpackBody(frame.subarray(FRAME_HEADER_BYTES))).toEqual({ pattern: 'p', data: 'x'.repeat(300) });
  });

  it('keeps types apart like structuredClone', () => {
    const value = {
      int: 42,
      float: 1.5,
      large: 2 ** 53 - 1,
      big: 2n ** 64n + 1n,
      date: new Date('2024-02-29T12:34:56.789Z'),
      buffer: Buffer.from([1, 2, 3]),
      bytes: new Uint8Array([4, 5]),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, { b: [3] }],
      ]),
      set: new Set(['x', 1]),
      object: { nested: { deeper: [1, 'two', null, undefined, { three: 3 }] } },
      undef: undefined,
      nil: null,
      error: new RangeError('out of range'),
    };
    const copy = wireClone(value);
    expect(copy).toStrictEqual(value);
    expect(copy.buffer).toBeInstanceOf(Buffer);
    expect(Buffer.isBuffer(copy.bytes)).toBe(false);
    expect(copy.bytes).toBeInstanceOf(Uint8Array);
    expect(copy.map).toBeInstanceOf(Map);
    expect(copy.object).not.toBeInstanceOf(Map);
    expect('undef' in copy).toBe(true);
    expect(copy.error).toBeInstanceOf(RangeError);
    expect(copy.error.message).toBe('out of range');
  });

  it('keeps shared and cyclic references', () => {
    const shared = { n: 1 };
    const value: Record<string, unknown> = { a: shared, b: shared };
    value.self = value;
    const copy = wireClone(value);
    expect(copy.a).toBe(copy.b);
    expect(copy.self).toBe(copy);
  });

  it('decodes binaries as copies that do not pin the received chunk', () => {
    const frame = packFrame({ data: Buffer.alloc(16, 7) });
    const { data } = unpackBody(frame.subarray(FRAME_HEADER_BYTES)) as { data: Buffer };
    expect(data.buffer).not.toBe(frame.buffer);
    expect(data).toEqual(Buffer.alloc(16, 7));
  });

  it('rejects malformed and trailing bytes', () => {
    const body = packFrame({ a: 1 }).subarray(FRAME_HEADER_BYTES);
    expect(() => unpackBody(body.subarray(0, body.length - 1))).toThrow();
    expect(() => unpackBody(Buffer.concat([body, Buffer.from([0])]))).toThrow();
    expect(() => unpackBody(Buffer.alloc(0))).toThrow();
  });
});
