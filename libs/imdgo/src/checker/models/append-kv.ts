import type { Model } from '../types.ts';
import { partitionByKey } from './partition-by-key.ts';

/** Porcupine's key-value store: one string per key ("" when absent); `get` input values are ignored. */
export type AppendKvInput = { op: 'get' | 'put' | 'append'; key: string; value: string };

/** A get answers the string; put and append only acknowledge. */
export type AppendKvOutput = { value: string } | { ok: true };

/** The state of one key: histories are always split per key before being checked. */
export const appendKvModel: Model<string, AppendKvInput, AppendKvOutput> = {
  init: () => '',
  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return { ok: output === undefined || ('value' in output && output.value === state), state };
      case 'put':
        return { ok: true, state: input.value };
      case 'append':
        return { ok: true, state: state + input.value };
    }
  },
  partition: partitionByKey,
  key: (state) => state,
};
