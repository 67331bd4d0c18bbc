import type { ChangeEvent } from '../state-machine/change-event.ts';
import { globToRegExp } from './glob.ts';
import type { OnKeyChangeOptions } from './on-key-change.decorator.ts';

/**
 * Which changes an `@OnKeyChange` handler gets: those of its keys, map and types; and every `reset`,
 * whatever its key or map filter (its view may have missed any change), unless its `type` leaves it out.
 */
export function keyChangeFilter(options: OnKeyChangeOptions): (change: ChangeEvent) => boolean {
  const key = globToRegExp(options.key ?? '*');
  const types = options.type === undefined ? null : new Set([options.type].flat());
  return (change) =>
    (types === null || types.has(change.type)) &&
    (change.type === 'reset' ||
      (key.test(change.key) && (options.map === undefined || options.map === change.map)));
}
