import type { Model } from '../types.ts';
import { canonicalJson } from './canonical-json.ts';
import { partitionByKey } from './partition-by-key.ts';

/**
 * imdgo's key-value map; values are JSON-like and `null` means the key is absent. A write with `ttl` may
 * expire at any later moment (the model has no clock), but once a client saw it gone it stays gone.
 */
export type ImdgoKvInput =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: unknown; ttl?: boolean }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: unknown; next: unknown; ttl?: boolean }
  | { op: 'putIfAbsent'; key: string; value: unknown; ttl?: boolean }
  | { op: 'setIfVersion'; key: string; version: number; value: unknown; ttl?: boolean }
  | { op: 'increment'; key: string; delta: number; ttl?: boolean };

/**
 * A get answers the value (null when absent) and, when the client read it, the key's version (0 when
 * absent); an increment answers the new value; the others whether they took effect (a delete: whether
 * there was something to delete).
 */
export type ImdgoKvOutput = { value: unknown; version?: number } | { ok: boolean };

/** One way the key may be: canonical JSON of the value, its version, and whether it may expire. */
type KeyState = readonly [value: string, version: number, expiring: boolean];

const ABSENT: KeyState = ['null', 0, false];

/**
 * The state is the set of ways the key may be (more than one only while an expiry may or may not have
 * happened), as the canonical JSON of a sorted list: deep equality is a string comparison and doubles as
 * the memoization key.
 */
export const imdgoKvModel: Model<string, ImdgoKvInput, ImdgoKvOutput> = {
  init: () => encode([ABSENT]),
  step(state, input, output) {
    const next: KeyState[] = [];
    for (const before of JSON.parse(state) as KeyState[]) {
      // An expiring key may have expired just before this operation.
      for (const current of before[2] ? [before, ABSENT] : [before]) {
        const after = apply(current, input, output);
        if (after) next.push(after);
      }
    }
    return next.length === 0 ? { ok: false, state } : { ok: true, state: encode(next) };
  },
  partition: partitionByKey,
  key: (state) => state,
};

/** The key after the operation, or undefined when `output` cannot be answered from `current`. */
function apply(
  current: KeyState,
  input: ImdgoKvInput,
  output: ImdgoKvOutput | undefined,
): KeyState | undefined {
  const [value, version] = current;
  const write = (next: unknown): KeyState => [
    canonicalJson(next),
    version + 1,
    'ttl' in input && input.ttl === true,
  ];
  // A conditional write that answered `ok: false` is only explained by a state where the condition fails.
  const conditional = (holds: boolean, next: unknown) => {
    if (output !== undefined && (!('ok' in output) || output.ok !== holds)) return undefined;
    return holds ? write(next) : current;
  };
  switch (input.op) {
    case 'get': {
      if (output === undefined) return current;
      if (!('value' in output) || canonicalJson(output.value) !== value) return undefined;
      return output.version === undefined || output.version === version ? current : undefined;
    }
    case 'set':
      return write(input.value);
    case 'delete':
      if (output !== undefined && (!('ok' in output) || output.ok !== (value !== 'null'))) return undefined;
      return ABSENT;
    case 'cas':
      return conditional(canonicalJson(input.expected) === value, input.next);
    case 'putIfAbsent':
      return conditional(value === 'null', input.value);
    case 'setIfVersion':
      return conditional(version === input.version, input.value);
    case 'increment': {
      const base = JSON.parse(value) as unknown;
      const sum = (base === null ? 0 : (base as number)) + input.delta;
      // A non-numeric value refuses the increment (the caller gets an error, recorded as `fail`).
      if (base !== null && typeof base !== 'number') return output === undefined ? current : undefined;
      if (output !== undefined && !('value' in output && output.value === sum)) return undefined;
      return write(sum);
    }
  }
}

function encode(states: readonly KeyState[]): string {
  const unique = [...new Set(states.map((s) => JSON.stringify(s)))].sort();
  return `[${unique.join(',')}]`;
}
