import { InvalidArgumentError } from '../errors.ts';
import { murmur3 } from './murmur3.ts';

/** More partitions than this would cost more per-group overhead than any grid here can use. */
export const MAX_PARTITIONS = 65_536;

/**
 * The hash tag of a key, as Redis Cluster defines it: if the key contains `{`, and a `}` follows that first
 * `{`, and at least one character lies between them, the tag is that text; otherwise the key has no tag.
 * Only the first `{` counts: `a{b}{c}` → `b`, `a{{b}}` → `{b`, `a{}{b}` → none (empty first tag),
 * `a}{b}` → `b`, `{b` → none.
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return undefined;
  return key.slice(open + 1, close);
}

/** Reused across calls (the hash is synchronous); grown when a key needs more. */
let scratch = new Uint8Array(1024);

/**
 * Writes `text` as UTF-8 at `offset`, as TextEncoder does (a lone surrogate becomes U+FFFD), and returns the
 * offset after it. Inline because TextEncoder's per-call cost dominates for short keys.
 */
function writeUtf8(text: string, bytes: Uint8Array, offset: number): number {
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      bytes[at++] = code;
      continue;
    }
    if (code < 0x800) {
      bytes[at++] = 0xc0 | (code >> 6);
      bytes[at++] = 0x80 | (code & 0x3f);
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
        bytes[at++] = 0xf0 | (code >> 18);
        bytes[at++] = 0x80 | ((code >> 12) & 0x3f);
        bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
        bytes[at++] = 0x80 | (code & 0x3f);
        continue;
      }
      code = 0xfffd;
    }
    bytes[at++] = 0xe0 | (code >> 12);
    bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
    bytes[at++] = 0x80 | (code & 0x3f);
  }
  return at;
}

/**
 * The partition of `key` in map `map`, in [0, partitions). Stable across versions and processes: the fixed
 * vectors in key-partition.spec.ts pin it, since changing it would misplace every stored key.
 * - Without a hash tag: MurmurHash3-x86_32 (seed 0) of UTF-8(map) ‖ 0xFF ‖ UTF-8(key), modulo `partitions`.
 *   0xFF never occurs in UTF-8, so (map, key) pairs never collide by concatenation.
 * - With a hash tag (see `hashTag`): MurmurHash3-x86_32 (seed 0) of UTF-8(tag) alone, modulo `partitions`, so
 *   keys sharing a tag share a partition whatever their map, and operations across them can stay atomic.
 * Lone UTF-16 surrogates encode as U+FFFD, as TextEncoder does. The modulo bias is below 2^-32 × partitions.
 */
export function partitionOf(map: string, key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new InvalidArgumentError(
      `partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${partitions}`,
    );
  }
  if (partitions === 1) return 0;
  const tag = hashTag(key);
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const needed = tag === undefined ? 3 * (map.length + key.length) + 1 : 3 * tag.length;
  if (scratch.length < needed) scratch = new Uint8Array(needed * 2);
  let length: number;
  if (tag === undefined) {
    length = writeUtf8(map, scratch, 0);
    scratch[length++] = 0xff;
    length = writeUtf8(key, scratch, length);
  } else {
    length = writeUtf8(tag, scratch, 0);
  }
  return murmur3(scratch, length) % partitions;
}
