import { SetMetadata } from '@nestjs/common';
import type { ChangeEvent } from '../state-machine/change-event.ts';

export const ON_KEY_CHANGE_METADATA = 'imdgo:on-key-change';

export interface OnKeyChangeOptions {
  /** Glob over keys: `*` any characters, `?` one. Default `*`. */
  readonly key?: string;
  /** Only changes of this named map (default: any map). */
  readonly map?: string;
  /** Only these kinds of change (without `'reset'` among them, the handler is not told of resets). */
  readonly type?: ChangeEvent['type'] | readonly ChangeEvent['type'][];
}

/**
 * Decorates a method that takes a change event: `(change: ChangeEvent<User>) => void` type-checks (the value
 * type is the handler's word for it, unchecked), a method taking something else does not.
 */
export type KeyChangeHandlerDecorator = <Handler extends (change: ChangeEvent<never>) => unknown>(
  target: object,
  method: string | symbol,
  descriptor: TypedPropertyDescriptor<Handler>,
) => void;

/**
 * Calls the decorated provider method with every matching change applied on this node, in log order:
 * `@OnKeyChange('user:*')` or `@OnKeyChange({ map: 'sessions', type: 'expire' })`; and with every
 * `reset` (this node's state jumped to a snapshot), whatever the key and map, unless `type` leaves it out.
 * A handler that throws (or rejects) is logged; other handlers and later changes are unaffected.
 */
export function OnKeyChange(patternOrOptions: string | OnKeyChangeOptions = {}): KeyChangeHandlerDecorator {
  const options: OnKeyChangeOptions =
    typeof patternOrOptions === 'string' ? { key: patternOrOptions } : patternOrOptions;
  return SetMetadata(ON_KEY_CHANGE_METADATA, options);
}
