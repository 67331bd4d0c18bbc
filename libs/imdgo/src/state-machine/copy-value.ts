import { Packr, Unpackr } from 'msgpackr';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import { detachStrings } from './detach-strings.ts';

const packr = new Packr(msgpackOptions());
const unpackr = new Unpackr(msgpackOptions());

/** What copyTree answers for a value holding something other than plain objects, arrays and primitives. */
const NOT_PLAIN = Symbol('not plain');

/**
 * A copy of a stored value that shares no object with it, as a read of a record in a chunk gives: what an
 * app changes in a value it read, was delivered or wrote stays out of the replica. Primitives are
 * immutable and come back as they are. Plain objects and arrays (what msgpack decodes most values to) are
 * copied directly, keeping shared and cyclic references; a value holding anything else (Map, Date, a typed
 * array...) is encoded and decoded whole, as its record would be.
 */
export function copyValue<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const copy = copyTree(value, new Map());
  return (copy === NOT_PLAIN ? detachStrings(unpackr.unpack(packr.pack(value))) : copy) as T;
}

function copyTree(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype === Array.prototype) {
    const array = value as unknown[];
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (let i = 0; i < array.length; i++) {
      const item = copyTree(array[i], copies);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      copy.push(item);
    }
    return copy;
  }
  if (prototype !== Object.prototype) return NOT_PLAIN;
  const object = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  copies.set(value, copy);
  for (const key of Object.keys(object)) {
    // Assigned, this key would set the copy's prototype (msgpack renames it when it decodes).
    if (key === '__proto__') return NOT_PLAIN;
    const item = copyTree(object[key], copies);
    if (item === NOT_PLAIN) return NOT_PLAIN;
    copy[key] = item;
  }
  return copy;
}
