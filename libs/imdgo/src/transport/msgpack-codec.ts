import { Packr, RESERVE_START_SPACE, Unpackr, type Options } from 'msgpackr';

/** Bytes of the big-endian body length that precede every frame body. */
export const FRAME_HEADER_BYTES = 4;

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
const options = (): Options => ({ structuredClone: true, useToJSON: false, copyBuffers: true });

const packr = new Packr(options());
// A separate, structure-less Unpackr keeps no record definitions between frames,
// so one frame (or one connection) cannot change how another decodes.
const unpackr = new Unpackr(options());

/** Encodes `value` as one frame: header and body in a single Buffer. */
export function packFrame(value: unknown): Buffer {
  const frame = packr.pack(value, RESERVE_START_SPACE | FRAME_HEADER_BYTES);
  frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 0);
  return frame;
}

/** Decodes one frame body; throws on malformed msgpack or trailing bytes. */
export function unpackBody(body: Uint8Array): unknown {
  return unpackr.unpack(body);
}

/** Copies a value as if it crossed the wire (used by the in-memory transport). */
export function wireClone<T>(value: T): T {
  return unpackBody(packFrame(value).subarray(FRAME_HEADER_BYTES)) as T;
}
