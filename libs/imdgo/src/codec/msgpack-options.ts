import type { Options } from 'msgpackr';

/**
 * Aims at `structuredClone` fidelity, since replicated values must come out on
 * followers as they went in on the leader:
 * - records (the default `useRecords`) keep plain objects and `Map`s apart;
 *   without them msgpack has a single map type and `Map`s come back as objects.
 *   Record definitions travel inline in each frame (no shared structures), so
 *   frames decode independently.
 * - `structuredClone` (implies `moreTypes`) keeps `Map`, `Set`, `RegExp`,
 *   `Error` (name and message), typed arrays, `ArrayBuffer`, shared and cyclic
 *   references. `Buffer` and `Uint8Array` stay distinct, `Date` stays `Date`,
 *   `bigint` stays `bigint` at any size, numbers stay numbers, and `undefined`
 *   stays apart from `null` in objects and arrays.
 * - `useToJSON: false` copies own properties as `structuredClone` does instead
 *   of whatever shape a class's `toJSON` gives its API.
 * - `copyBuffers` so a decoded binary does not pin the whole socket chunk it
 *   was read from.
 * Known losses: class instances become plain objects, `-0` becomes `0`, a key
 * named `__proto__` is renamed; functions encode as `undefined`, symbols throw.
 */
export const msgpackOptions = (): Options => ({ structuredClone: true, useToJSON: false, copyBuffers: true });
