import { isUtf8 } from 'node:buffer';

/**
 * Decodes a msgpack array of strings, numbers, booleans and nils (a positional command with a primitive
 * value: what nearly every write logs), or answers null for anything else, which is left to msgpackr.
 * Where it answers, it answers what msgpackr's `unpack` would, except that each string is a fresh copy
 * rather than a slice of one string decoded for the whole command: a stored value pins nothing else.
 * It takes only encodings msgpackr decodes the same way under every option (no 64-bit integers, no
 * float32, which msgpackr may round, no extensions), and strings only of valid UTF-8. `start`: where the
 * array begins in `bytes` (after a log entry's stamp).
 */
export function decodeFlatArray(bytes: Buffer, start = 0): unknown[] | null {
  const end = bytes.byteLength;
  if (end <= start) return null;
  const head = bytes[start]!;
  if ((head & 0xf0) !== 0x90) return null;
  const length = head & 0x0f;
  // Its length known up front: grown by push it would take more than twice the space.
  // oxlint-disable-next-line unicorn/no-new-array -- a length, and Array.from fills it only to overwrite it
  const array = new Array<unknown>(length);
  let at = start + 1;
  for (let i = 0; i < length; i++) {
    if (at >= end) return null;
    const type = bytes[at++]!;
    let size = -1;
    if (type < 0x80) {
      array[i] = type;
      continue;
    } else if (type >= 0xe0) {
      array[i] = type - 0x100;
      continue;
    } else if (type >= 0xa0 && type < 0xc0) {
      size = type & 0x1f;
    } else {
      const left = end - at;
      switch (type) {
        case 0xc0:
          array[i] = null;
          continue;
        case 0xc2:
          array[i] = false;
          continue;
        case 0xc3:
          array[i] = true;
          continue;
        case 0xcc:
          if (left < 1) return null;
          array[i] = bytes[at];
          at += 1;
          continue;
        case 0xcd:
          if (left < 2) return null;
          array[i] = bytes.readUInt16BE(at);
          at += 2;
          continue;
        case 0xce:
          if (left < 4) return null;
          array[i] = bytes.readUInt32BE(at);
          at += 4;
          continue;
        case 0xd0:
          if (left < 1) return null;
          array[i] = bytes.readInt8(at);
          at += 1;
          continue;
        case 0xd1:
          if (left < 2) return null;
          array[i] = bytes.readInt16BE(at);
          at += 2;
          continue;
        case 0xd2:
          if (left < 4) return null;
          array[i] = bytes.readInt32BE(at);
          at += 4;
          continue;
        case 0xcb:
          if (left < 8) return null;
          array[i] = bytes.readDoubleBE(at);
          at += 8;
          continue;
        case 0xd9:
          if (left < 1) return null;
          size = bytes[at]!;
          at += 1;
          break;
        case 0xda:
          if (left < 2) return null;
          size = bytes.readUInt16BE(at);
          at += 2;
          break;
        case 0xdb:
          if (left < 4) return null;
          size = bytes.readUInt32BE(at);
          at += 4;
          break;
        default:
          return null;
      }
    }
    if (end - at < size) return null;
    const text = readString(bytes, at, at + size);
    if (text === null) return null;
    array[i] = text;
    at += size;
  }
  // msgpackr refuses bytes left over after the value.
  return at === end ? array : null;
}

function readString(bytes: Buffer, start: number, end: number): string | null {
  // ASCII, the usual key, client and value, is checked here: a call into isUtf8 costs more for short ones.
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii && !isUtf8(bytes.subarray(start, end))) return null;
  return bytes.toString('utf8', start, end);
}
