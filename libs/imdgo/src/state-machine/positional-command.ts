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

const OPERANDS = {
  set: ['value', 'ttlMs', 'ifAbsent', 'ifVersion'],
  cas: ['expected', 'value', 'ttlMs'],
  increment: ['delta', 'ttlMs'],
  delete: ['ifVersion'],
  expire: ['revision'],
} as const satisfies Record<KeyedKvCommand['op'], readonly string[]>;

/** Operands that are always present in the command, even when `undefined`. */
const REQUIRED = new Set(['value', 'expected']);
const HEAD = 6;

/** The positional form of `logged`, or null for a command kept as objects (lock commands, transactions). */
export function toPositional(logged: LoggedCommand): PositionalCommand | null {
  const { session, command } = logged;
  if (!Object.hasOwn(OPERANDS, command.op)) return null;
  const keyed = command as KeyedKvCommand & Record<string, unknown>;
  const operands = OPERANDS[keyed.op].map((name) => keyed[name] ?? (REQUIRED.has(name) ? keyed[name] : null));
  // Trailing absent operands are left out.
  let length = operands.length;
  while (length > 0 && operands[length - 1] === null && !REQUIRED.has(OPERANDS[keyed.op][length - 1]!)) {
    length--;
  }
  return [
    session?.client ?? null,
    session?.seq ?? null,
    session?.firstUnacked ?? null,
    keyed.op,
    keyed.map ?? null,
    keyed.key,
    ...operands.slice(0, length),
  ];
}

/**
 * The command a positional array holds, or why it is not one (peers' writes are untrusted). Checks the
 * layout only; `parseCommand` checks each field's type as it does for the object encoding.
 */
export function fromPositional(array: readonly unknown[]): LoggedCommand | string {
  if (array.length < HEAD) return 'a positional command shorter than its head';
  const [client, seq, firstUnacked, op, map, key] = array;
  if (typeof op !== 'string' || !Object.hasOwn(OPERANDS, op)) return `unknown operation ${String(op)}`;
  const names = OPERANDS[op as KeyedKvCommand['op']];
  if (array.length > HEAD + names.length) return `a ${op} command with ${array.length} fields`;
  let session: SessionStamp | undefined;
  if (client !== null) {
    if (typeof client !== 'string' || typeof seq !== 'number') return 'a malformed session';
    if (firstUnacked !== null && typeof firstUnacked !== 'number') return 'a malformed session';
    session = firstUnacked === null ? { client, seq } : { client, seq, firstUnacked };
  } else if (seq !== null || firstUnacked !== null) {
    return 'a session without a client';
  }
  const command: Record<string, unknown> = { op, key };
  if (map !== null) command.map = map;
  names.forEach((name, i) => {
    const value = array[HEAD + i];
    if (REQUIRED.has(name)) command[name] = value;
    else if (value !== null && value !== undefined) command[name] = value;
  });
  const keyed = command as unknown as KeyedKvCommand;
  return session ? { session, command: keyed } : { command: keyed };
}
