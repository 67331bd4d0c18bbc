import type { Model } from '../types.ts';
import { canonicalJson } from './canonical-json.ts';
import { partitionByKey } from './partition-by-key.ts';

/** imdgo's key-value map; values are JSON-like and `null` means the key is absent. */
export type ImdgoKvInput =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: unknown }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: unknown; next: unknown };

/** A get answers the value (null when absent); set, delete and cas answer whether they took effect. */
export type ImdgoKvOutput = { value: unknown } | { ok: boolean };

/**
 * The state of one key is the canonical JSON of its value, which makes deep equality a string
 * comparison and doubles as the memoization key.
 */
export const imdgoKvModel: Model<string, ImdgoKvInput, ImdgoKvOutput> = {
  init: () => 'null',
  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return {
          ok: output === undefined || ('value' in output && canonicalJson(output.value) === state),
          state,
        };
      case 'set':
        return { ok: true, state: canonicalJson(input.value) };
      case 'delete':
        return { ok: true, state: 'null' };
      case 'cas': {
        const matches = canonicalJson(input.expected) === state;
        // A cas that answered `ok: false` is only explained by a value other than the expected one.
        const ok = output === undefined || ('ok' in output && output.ok === matches);
        return { ok, state: matches ? canonicalJson(input.next) : state };
      }
    }
  },
  partition: partitionByKey,
  key: (state) => state,
};
