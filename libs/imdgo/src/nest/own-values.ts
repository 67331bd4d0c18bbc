import { map, type OperatorFunction } from 'rxjs';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import type { CommandResult } from '../state-machine/commands.ts';
import { copyValue } from '../state-machine/copy-value.ts';

/*
 * What the store hands to app code holds values of its own. An applied write's result and its change
 * event carry the very objects the replica stores (or a session keeps for retries, or the watch history
 * keeps for replays), and one event goes to every subscriber: changing one in place would change this
 * node's replica alone, or what the other subscribers see.
 */

/** A copy of `change` for one subscriber: its own event object and values. */
export function ownChange<E extends ChangeEvent>(change: E): E {
  return { ...change, value: copyValue(change.value), previous: copyValue(change.previous) };
}

/** Each event, for one subscriber, a copy of its own. */
export function ownChanges<E extends ChangeEvent>(): OperatorFunction<E, E> {
  return map(ownChange);
}

/** `result` with values of its own. */
export function ownResult(result: CommandResult): CommandResult {
  const { previous, value } = result;
  if (!isObject(previous) && !isObject(value)) return result;
  return { ...result, previous: copyValue(previous), value: copyValue(value) };
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
