import type { KeyedKvCommand, LoggedCommand, SessionStamp } from './commands.ts';

/**
 * The log's encoding of the keyed commands every write issues (set, delete, cas, increment, expire): one
 * array of fixed positions, `[client, seq, firstUnacked, op, map, key, ...operands]`, instead of nested
 * objects whose record definitions (every key name) travel inside each command. Lock commands and
 * transactions keep the object encoding; decoders tell the two apart by the top-level type, so commands
 * logged before this encoding (objects) still decode.
 *
 * `null` stands for an absent optional field (no session, no map, no TTL, ...): none of those fields
 * accepts `null` as a value. `value` and `expected` keep exactly what they hold, `undefined` included.
 */
export type PositionalCommand = unknown[];

/** Each operation's operands in order; the first `required` are always present, even when `undefined`. */
const OPERANDS = new Map<string, { readonly names: readonly string[]; readonly required: number }>([
  ['set', { names: ['value', 'ttlMs', 'ifAbsent', 'ifVersion'], required: 1 }],
  ['cas', { names: ['expected', 'value', 'ttlMs'], required: 2 }],
  ['increment', { names: ['delta', 'ttlMs'], required: 0 }],
  ['delete', { names: ['ifVersion'], required: 0 }],
  ['expire', { names: ['revision'], required: 0 }],
] satisfies [KeyedKvCommand['op'], unknown][]);
const HEAD = 6;

/** The positional form of `logged`, or null for a command kept as objects (lock commands, transactions). */
export function toPositional(logged: LoggedCommand): PositionalCommand | null {
  const { session, command } = logged;
  const operands = OPERANDS.get(command.op);
  if (operands === undefined) return null;
  const keyed = command as KeyedKvCommand & Record<string, unknown>;
  if (keyed.op === 'set' && (keyed.ttlMs ?? keyed.ifAbsent ?? keyed.ifVersion ?? null) === null) {
    // The usual write, built at its length: grown by push, its array would take three times the space.
    return [
      session?.client ?? null,
      session?.seq ?? null,
      session?.firstUnacked ?? null,
      'set',
      keyed.map ?? null,
      keyed.key,
      keyed.value,
    ];
  }
  const array: unknown[] = [
    session?.client ?? null,
    session?.seq ?? null,
    session?.firstUnacked ?? null,
    keyed.op,
    keyed.map ?? null,
    keyed.key,
  ];
  const { names, required } = operands;
  // Trailing absent operands are left out.
  let length = HEAD + required;
  for (let i = 0; i < names.length; i++) {
    const value = keyed[names[i]!];
    if (i < required) {
      array.push(value);
    } else {
      array.push(value ?? null);
      if (value !== undefined && value !== null) length = HEAD + i + 1;
    }
  }
  array.length = length;
  return array;
}

/**
 * The command a positional array holds, or why it is not one (peers' writes are untrusted). Checks the
 * layout only; `parseCommand` checks each field's type as it does for the object encoding.
 */
export function fromPositional(array: readonly unknown[]): LoggedCommand | string {
  if (array.length < HEAD) return 'a positional command shorter than its head';
  const [client, seq, firstUnacked, op, map, key] = array;
  const operands = typeof op === 'string' ? OPERANDS.get(op) : undefined;
  if (operands === undefined) return `unknown operation ${String(op)}`;
  const { names, required } = operands;
  if (array.length > HEAD + names.length) return `a ${op} command with ${array.length} fields`;
  let session: SessionStamp | undefined;
  if (client !== null) {
    if (typeof client !== 'string' || typeof seq !== 'number') return 'a malformed session';
    if (firstUnacked !== null && typeof firstUnacked !== 'number') return 'a malformed session';
    session = firstUnacked === null ? { client, seq } : { client, seq, firstUnacked };
  } else if (seq !== null || firstUnacked !== null) {
    return 'a session without a client';
  }
  let command: Record<string, unknown>;
  if (op === 'set' && array.length === HEAD + 1) {
    // The usual write, built whole: added one by one, its properties would take a second object.
    const value = array[HEAD];
    command = map === null ? { op, key, value } : { op, key, map, value };
  } else {
    command = { op, key };
    if (map !== null) command.map = map;
    for (let i = 0; i < names.length; i++) {
      const value = array[HEAD + i];
      if (i < required || (value !== null && value !== undefined)) command[names[i]!] = value;
    }
  }
  const keyed = command as unknown as KeyedKvCommand;
  return session ? { session, command: keyed } : { command: keyed };
}
