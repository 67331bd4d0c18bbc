import type { Model } from '../types.ts';

/** A single register as Jepsen's etcd test drives it; `null` is the absent (never written) value. */
export type RegisterState = number | null;

export type RegisterInput =
  { op: 'read' } | { op: 'write'; value: number } | { op: 'cas'; from: number; to: number };

/** A read answers the value; a write or cas answers whether it took effect. */
export type RegisterOutput = { value: number | null } | { ok: boolean };

export const registerModel: Model<RegisterState, RegisterInput, RegisterOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case 'read':
        return { ok: output === undefined || ('value' in output && output.value === state), state };
      case 'write':
        return { ok: true, state: input.value };
      case 'cas': {
        const matches = state === input.from;
        // A failed cas is only explained by a state that differs from the expected value.
        const ok = output === undefined || ('ok' in output && output.ok === matches);
        return { ok, state: matches ? input.to : state };
      }
    }
  },
  key: (state) => String(state),
};
