import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import { decodeFlatArray } from './flat-array.ts';

const packr = new Packr(msgpackOptions());
const unpackr = new Unpackr(msgpackOptions());

/** Every primitive encoding the decoder takes, at the edges of each width. */
const PRIMITIVES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  127,
  128,
  255,
  256,
  65_535,
  65_536,
  2 ** 32 - 1,
  -1,
  -32,
  -33,
  -128,
  -129,
  -32_768,
  -32_769,
  -(2 ** 31),
  0.5,
  -1e300,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'short',
  'x'.repeat(31),
  'y'.repeat(32),
  'z'.repeat(300),
  'w'.repeat(70_000),
  'é unicode ✓ and 😀',
];

describe('decodeFlatArray', () => {
  it('decodes arrays of primitives as msgpackr does', () => {
    for (let length = 0; length <= 15; length++) {
      for (let shift = 0; shift < PRIMITIVES.length; shift++) {
        const array = Array.from({ length }, (_, i) => PRIMITIVES[(i + shift) % PRIMITIVES.length]);
        const bytes = Buffer.from(packr.pack(array));
        expect(decodeFlatArray(bytes)).toStrictEqual(unpackr.unpack(bytes));
      }
    }
  });

  it('decodes from an offset, as a stamped log entry holds the command after the stamp', () => {
    const bytes = Buffer.from(packr.pack(['client', 1, null, 'set', null, 'k', 'v']));
    const stamped = Buffer.concat([Buffer.from([0xc1, 0, 1, 2]), bytes]);
    expect(decodeFlatArray(stamped, 4)).toStrictEqual(unpackr.unpack(bytes));
    expect(decodeFlatArray(stamped, 3)).toBeNull();
    expect(decodeFlatArray(stamped, stamped.length)).toBeNull();
  });

  it('leaves to msgpackr what it does not decode alike under every option, or at all', () => {
    const others: readonly unknown[] = [
      [undefined],
      [1n],
      [{ a: 1 }],
      [[1]],
      [new Uint8Array([1])],
      Array.from({ length: 16 }, () => 1),
      'not an array',
    ];
    for (const value of others) expect(decodeFlatArray(Buffer.from(packr.pack(value)))).toBeNull();
    // float32, int64 and uint64, which this packr never writes for these numbers.
    expect(decodeFlatArray(Buffer.from('91ca3f800000', 'hex'))).toBeNull();
    expect(decodeFlatArray(Buffer.from('91cf0000000000000001', 'hex'))).toBeNull();
    expect(decodeFlatArray(Buffer.from('91d30000000000000001', 'hex'))).toBeNull();
  });

  it('refuses what is cut short, followed by more bytes, or not UTF-8', () => {
    const bytes = Buffer.from(packr.pack(['client', 1, 'set', 'k', 'y'.repeat(40)]));
    for (let end = 0; end < bytes.length; end++) expect(decodeFlatArray(bytes.subarray(0, end))).toBeNull();
    expect(decodeFlatArray(Buffer.concat([bytes, Buffer.from([0xc0])]))).toBeNull();
    // A lone continuation byte, and an encoded surrogate.
    expect(decodeFlatArray(Buffer.from('91a180', 'hex'))).toBeNull();
    expect(decodeFlatArray(Buffer.from('91a3eda080', 'hex'))).toBeNull();
  });
});
