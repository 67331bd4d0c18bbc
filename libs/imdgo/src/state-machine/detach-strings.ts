/**
 * V8 keeps a slice of a string as a view of the whole string it was cut from, for as long as the slice
 * lives; strings this short are always copied.
 */
const SHORTEST_SLICE = 13;

/**
 * `value` with every string in it copied out of what it may be a slice of. msgpackr decodes the strings
 * of a command as slices of one string spanning the rest of the command, so a stored value would keep the
 * whole command's text alive beside its own. Decoded arrays and plain objects are fresh, so they are
 * changed in place; other containers (Map, Set) are left as they are. Values may refer to themselves
 * (msgpackr keeps cyclic references): each container is visited once.
 */
export function detachStrings(value: unknown, visited?: Set<object>): unknown {
  if (typeof value === 'string') return value.length < SHORTEST_SLICE ? value : copyString(value);
  if (typeof value !== 'object' || value === null || visited?.has(value)) return value;
  const seen = visited ?? new Set<object>();
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = detachStrings(value[i], seen);
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) value[key] = detachStrings(value[key], seen);
  }
  return value;
}

/** A flat copy: JSON round-trips every string exactly (lone surrogates are escaped), one-byte ones stay so. */
function copyString(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
