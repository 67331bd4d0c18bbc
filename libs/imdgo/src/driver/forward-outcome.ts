import type { CommandResult, KvCommand } from '../state-machine/commands.ts';
import { fromLayout, toLayout } from '../transport/wire-layout.ts';

/**
 * The leader's answer to one forwarded write: the error's message, or the result in a fixed layout
 * (transport/wire-layout.ts). A result whose value is the one the write itself carried (an applied set
 * or cas) leaves it out, tagged OWN_VALUE: the forwarding node has it, and a value is most of an answer.
 */
export type ForwardOutcome = string | unknown[];

const WITH_VALUE = 0;
const OWN_VALUE = 1;
const REST = ['version', 'refusal', 'maxStoreBytes', 'txn'];
const LAYOUTS = [
  ['applied', 'revision', 'previous', 'value', ...REST],
  ['applied', 'revision', 'previous', ...REST],
];
const MALFORMED = 'a malformed answer for this write';

/** `command`: the write the result is for, as the leader applied it. */
export function outcomeOf(result: CommandResult, command: KvCommand): ForwardOutcome {
  // Equal primitives or the very object the command carried: the forwarder's copy is the same value.
  const own = 'value' in command && result.value === command.value;
  const tag = own ? OWN_VALUE : WITH_VALUE;
  return (
    toLayout(tag, LAYOUTS[tag]!, result as unknown as Record<string, unknown>, own ? 'value' : undefined) ??
    'an unencodable result for this write'
  );
}

/**
 * The result an outcome holds, or the error to fail the write with (a peer's answer is untrusted).
 * `command`: the write as this node forwarded it.
 */
export function resultOf(outcome: unknown, command: KvCommand): CommandResult | string {
  if (typeof outcome === 'string') return outcome;
  if (!Array.isArray(outcome)) return MALFORMED;
  const tag: unknown = outcome[0];
  if (tag !== WITH_VALUE && tag !== OWN_VALUE) return MALFORMED;
  const result = fromLayout(LAYOUTS[tag]!, outcome);
  if (result === null) return MALFORMED;
  const { applied, revision, previous, value, version, ...optional } = result;
  if (typeof applied !== 'boolean' || typeof revision !== 'number' || typeof version !== 'number') {
    return MALFORMED;
  }
  if (tag === OWN_VALUE && !('value' in command)) return MALFORMED;
  const ownValue = tag === OWN_VALUE && 'value' in command ? command.value : value;
  return { applied, revision, previous, value: ownValue, version, ...optional } as CommandResult;
}
