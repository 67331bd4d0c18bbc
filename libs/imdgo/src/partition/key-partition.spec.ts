import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { hashTag, partitionOf } from './key-partition.ts';
import { murmur3 } from './murmur3.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('murmur3', () => {
  // Published MurmurHash3_x86_32 vectors, so the mapping can be reproduced in any language.
  it.each([
    [[], 0, 0],
    [[], 1, 0x514e28b7],
    [[], 0xffffffff, 0x81f16f39],
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
    [[0x21, 0x43], 0, 0xa0f7b07a],
    [[0x21], 0, 0x72661cf4],
    [[0, 0, 0, 0], 0, 0x2362f9de],
  ])('hashes bytes %j with seed %i to the reference value', (bytes, seed, expected) => {
    expect(murmur3(new Uint8Array(bytes), bytes.length, seed)).toBe(expected);
  });

  it.each([
    ['aaaa', 0x5a97808a],
    ['Hello, world!', 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x2fa826cd],
  ])('hashes %j with seed 0x9747b28c to the reference value', (text, expected) => {
    expect(murmur3(utf8(text), utf8(text).length, 0x9747b28c)).toBe(expected);
  });

  it('hashes only the given length of a larger buffer', () => {
    const buffer = new Uint8Array([0x21, 0x43, 0x65, 0x87, 0x99, 0x99]);
    expect(murmur3(buffer, 3)).toBe(0x7e4a8634);
  });
});

describe('hashTag (Redis Cluster rule)', () => {
  it.each([
    ['{user1000}.following', 'user1000'],
    ['foo{bar}{zap}', 'bar'],
    ['foo{{bar}}zap', '{bar'],
    ['foo{}{bar}', undefined],
    ['a}{b}', 'b'],
    ['{b', undefined],
    ['plain', undefined],
    ['{}', undefined],
    ['{x}', 'x'],
  ])('%j has tag %j', (key, tag) => {
    expect(hashTag(key)).toBe(tag);
  });
});

describe('partitionOf', () => {
  // Frozen: a change here misplaces every key already stored, so it must never happen silently.
  it.each([
    ['users', 'alice', 271, 63],
    ['users', 'bob', 271, 110],
    ['sessions', 'alice', 271, 76],
    ['', '', 271, 148],
    ['users', 'ключ', 271, 197],
    ['users', '😀', 16, 1],
    ['orders', 'order:{user42}:1', 271, 0],
    ['carts', '{user42}', 271, 0],
    ['users', 'a{}{b}', 271, 211],
    ['m', 'k', 2, 1],
    ['m', 'k', 16384, 9633],
    ['m', 'k', 65536, 26017],
  ])('maps (%j, %j) over %i partitions to %i', (map, key, partitions, expected) => {
    expect(partitionOf(map, key, partitions)).toBe(expected);
  });

  it('maps every key to partition 0 when there is one partition', () => {
    for (const key of ['a', '{t}x', '', 'ключ']) expect(partitionOf('m', key, 1)).toBe(0);
  });

  it('places keys sharing a hash tag together, across maps', () => {
    const partitions = new Set(
      ['{cart:7}', 'items{cart:7}', '{cart:7}:total', 'x{cart:7}{other}'].flatMap((key) =>
        ['carts', 'totals'].map((map) => partitionOf(map, key, 271)),
      ),
    );
    expect(partitions.size).toBe(1);
  });

  it('separates the map name from the key unambiguously', () => {
    // Plain concatenation would hash these two pairs identically.
    expect(partitionOf('ab', 'c', 65536)).not.toBe(partitionOf('a', 'bc', 65536));
  });

  it('hashes a key longer than the scratch buffer the same way each time', () => {
    const key = 'k'.repeat(5000) + 'é'.repeat(3000);
    const first = partitionOf('m', key, 271);
    partitionOf('m', 'short', 271);
    expect(partitionOf('m', key, 271)).toBe(first);
    const bytes = new Uint8Array([...utf8('m'), 0xff, ...utf8(key)]);
    expect(first).toBe(murmur3(bytes) % 271);
  });

  it('encodes every kind of UTF-16 text as TextEncoder does', () => {
    const texts = [
      'aé€😀',
      'lone \ud800 high',
      'lone \udc00 low',
      'end \ud83d',
      '\u07ff\u0800\uffff',
      '\u0000',
    ];
    for (const key of texts) {
      const bytes = new Uint8Array([...utf8('map'), 0xff, ...utf8(key)]);
      expect(partitionOf('map', key, 65536)).toBe(murmur3(bytes) % 65536);
      expect(partitionOf('map', `{${key}}`, 65536)).toBe(murmur3(utf8(key)) % 65536);
    }
  });

  it.each([0, -1, 1.5, Number.NaN, 65537])('refuses %d partitions with a clear error', (partitions) => {
    expect(() => partitionOf('m', 'k', partitions)).toThrow(InvalidArgumentError);
    expect(() => partitionOf('m', 'k', partitions)).toThrow(/partitions must be an integer from 1 to 65536/);
  });

  // 1000 keys per partition on average; a uniform hash gives a chi-square near its 270 degrees of freedom
  // (standard deviation about 23), so 400 fails only for a skewed hash, and no partition strays by 20%.
  it.each([
    ['sequential keys', (i: number) => ['users', `user:${i}`] as const],
    ['one map per key', (i: number) => [`map${i}`, 'k'] as const],
    ['hash tags', (i: number) => ['orders', `order:{customer${i}}:items`] as const],
  ])('spreads %s evenly over 271 partitions', (_name, pairOf) => {
    const partitions = 271;
    const perPartition = 1000;
    const counts = Array.from({ length: partitions }, () => 0);
    for (let i = 0; i < partitions * perPartition; i++) {
      const [map, key] = pairOf(i);
      counts[partitionOf(map, key, partitions)]!++;
    }
    const chiSquare = counts.reduce((sum, count) => sum + (count - perPartition) ** 2 / perPartition, 0);
    expect(chiSquare).toBeLessThan(400);
    expect(Math.min(...counts)).toBeGreaterThan(perPartition * 0.8);
    expect(Math.max(...counts)).toBeLessThan(perPartition * 1.2);
  });
});
