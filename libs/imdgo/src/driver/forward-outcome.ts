import type { CommandResult } from '../state-machine/commands.ts';

/**
 * The leader's answer to one forwarded write, positional on the wire (see transport/wire-layout.ts for
 * why): the error's message, or `[applied, revision, previous, value, version, refusal, maxStoreBytes,
 * txn]` with absent optional fields left `undefined` (trailing ones out).
 */
export type ForwardOutcome = string | unknown[];

const OPTIONAL = ['refusal', 'maxStoreBytes', 'txn'] as const;
const REQUIRED = 5;

export function outcomeOf(result: CommandResult): ForwardOutcome {
  const wire: unknown[] = [result.applied, result.revision, result.previous, result.value, result.version];
  let length = REQUIRED;
  OPTIONAL.forEach((name, i) => {
    const value = result[name];
    wire.push(value);
    if (value !== undefined) length = REQUIRED + i + 1;
  });
  wire.length = length;
  return wire;
}

/** The result an outcome holds, or the error to fail the write with (a peer's answer is untrusted). */
export function resultOf(outcome: unknown): CommandResult | string {
  if (typeof outcome === 'string') return outcome;
  if (!Array.isArray(outcome) || outcome.length < REQUIRED || outcome.length > REQUIRED + OPTIONAL.length) {
    return 'a malformed answer for this write';
  }
  const [applied, revision, previous, value, version] = outcome;
  if (typeof applied !== 'boolean' || typeof revision !== 'number' || typeof version !== 'number') {
    return 'a malformed answer for this write';
  }
  const result: Record<string, unknown> = { applied, revision, previous, value, version };
  OPTIONAL.forEach((name, i) => {
    const field: unknown = outcome[REQUIRED + i];
    if (field !== undefined) result[name] = field;
  });
  return result as unknown as CommandResult;
}
