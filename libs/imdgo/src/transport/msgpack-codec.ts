import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { msgpackOptions as options } from '../codec/msgpack-options.ts';

/** Bytes of the big-endian body length that precede every frame body. */
export const FRAME_HEADER_BYTES = 4;

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
