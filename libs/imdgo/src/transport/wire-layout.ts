/**
 * A fixed-shape object as it travels between peers: `[tag, ...values]`, its values in the order of a
 * layout the protocol fixes, instead of a msgpack record whose definition (every key name) travels in
 * each frame and costs the receiver a record reader built per frame. An absent field travels as
 * `undefined` (trailing ones not at all) and comes back absent.
 */
export type Layout = readonly string[];

/**
 * The positional form of `object`, or null when it holds a key the layout does not know (but `tagged`,
 * a key whose value the tag stands for).
 */
export function toLayout(
  tag: number,
  layout: Layout,
  object: Record<string, unknown>,
  tagged?: string,
): unknown[] | null {
  let present = 0;
  let length = 1;
  for (let i = 0; i < layout.length; i++) {
    if (object[layout[i]!] === undefined) continue;
    present++;
    length = i + 2;
  }
  let keys = 0;
  for (const key in object) if (object[key] !== undefined && key !== tagged) keys++;
  if (keys !== present) return null;
  // Made at its length: grown by push from one element, an answer's array took three times the space.
  // oxlint-disable-next-line unicorn/no-new-array -- a length, and Array.from fills it only to overwrite it
  const array = new Array<unknown>(length);
  array[0] = tag;
  for (let i = 1; i < length; i++) array[i] = object[layout[i - 1]!];
  return array;
}

/** The object `array` holds (its tag at 0), or null when it has more values than the layout. */
export function fromLayout(layout: Layout, array: readonly unknown[]): Record<string, unknown> | null {
  if (array.length > layout.length + 1) return null;
  const object: Record<string, unknown> = {};
  for (let i = 1; i < array.length; i++) {
    const value = array[i];
    if (value !== undefined) object[layout[i - 1]!] = value;
  }
  return object;
}
