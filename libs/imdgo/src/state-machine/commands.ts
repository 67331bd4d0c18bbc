import { Packr, Unpackr } from 'msgpackr';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import { detachStrings } from './detach-strings.ts';
import { decodeFlatArray } from './flat-array.ts';
import { GRID_OPERATIONS, gridCommandProblem, type GridCommand } from './grid-commands.ts';
import { LOCK_OPERATIONS, lockCommandProblem, type LockCommand } from './lock-table.ts';
import { fromPositional, toPositional } from './positional-command.ts';
import { txnProblem, type TxnCommand, type TxnOpResult } from './txn.ts';

/**
 * Identifies a client's write so that a retried or re-forwarded one is applied at most once (Raft thesis
 * §6.3). `firstUnacked` lets the state machine forget the results the client has already received, so a
 * client may have many writes in flight.
 */
export interface SessionStamp {
  readonly client: string;
  readonly seq: number;
  /** Lowest sequence number still awaiting its result; defaults to `seq` (one write in flight). */
  readonly firstUnacked?: number;
}

/** The map a command without `map` addresses. */
export const DEFAULT_MAP = '';

interface KeyedCommand {
  readonly map?: string;
  readonly key: string;
}

export type KvCommand =
  | (KeyedCommand & {
      readonly op: 'set';
      readonly value: unknown;
      readonly ttlMs?: number;
      /** Only if the key is absent (putIfAbsent). */
      readonly ifAbsent?: boolean;
      /** Only if the key's version is this (0: absent). */
      readonly ifVersion?: number;
    })
  | (KeyedCommand & { readonly op: 'delete'; readonly ifVersion?: number })
  | (KeyedCommand & {
      readonly op: 'cas';
      readonly expected: unknown;
      readonly value: unknown;
      readonly ttlMs?: number;
    })
  | (KeyedCommand & { readonly op: 'increment'; readonly delta: number; readonly ttlMs?: number })
  /** Proposed by the leader when a key's TTL passed; applies only if the key was not written since. */
  | (KeyedCommand & { readonly op: 'expire'; readonly revision: number })
  | LockCommand
  | TxnCommand
  | GridCommand;

/** A command on one key of a map: every operation but a lock, grid command or a transaction. */
export type KeyedKvCommand = Exclude<KvCommand, TxnCommand | LockCommand | GridCommand>;

/** The memory cap as the leader that appended the entry was configured. */
export interface StoreLimit {
  readonly maxBytes: number;
  /** Make room by evicting the keys with a TTL nearest to expiry, instead of refusing the write. */
  readonly evictTtl: boolean;
}

/**
 * What the leader adds to each command when it appends it to its log, so that every node applies the entry
 * with the same time and memory cap, whichever node wrote it and whatever the clocks of the others say.
 */
export interface LeaderStamp {
  /** The leader's clock (ms since the epoch), never below the previous entry's: TTLs and conditions use it. */
  readonly time: number;
  readonly storeLimit: StoreLimit | null;
}

export interface LoggedCommand {
  readonly session?: SessionStamp;
  readonly command: KvCommand;
}

/** The outcome of a write, identical on every node. */
export interface CommandResult {
  /** False when a condition (cas, ifAbsent, ifVersion, expire of a rewritten key) did not hold. */
  readonly applied: boolean;
  /** The log index of the command: the revision at which it took effect (or was refused). */
  readonly revision: number;
  readonly previous: unknown;
  /** The key's value after the command (undefined when absent). */
  readonly value: unknown;
  /** The key's version after the command: 1 on creation, +1 per write, 0 when absent. */
  readonly version: number;
  /** Set when the write was refused by the memory cap rather than by a condition. */
  readonly refusal?: 'no-space';
  /** With a `no-space` refusal: the cap the entry was applied with (the appending leader's). */
  readonly maxStoreBytes?: number;
  /** For a transaction (`applied`: its compares held): what each write of the branch that ran did. */
  readonly txn?: readonly TxnOpResult[];
}

const packr = new Packr(msgpackOptions());
// Record definitions travel inside each command, so any node decodes what any other encoded.
const unpackr = new Unpackr(msgpackOptions());

/**
 * The command's bytes: a view of msgpackr's pack buffer (which it never writes over), not a copy of them.
 * Only a write in flight holds them: what the log keeps is the leader's stamped copy (`stampCommand`).
 */
export function encodeCommand(command: LoggedCommand): Uint8Array {
  const positional = toPositional(command);
  if (positional === null) return packr.pack(command);
  return (positional.every(isPrimitive) ? flatPackr : packr).pack(positional);
}

/**
 * Packs an array of primitives to the same bytes as `packr`, without the Map of references `packr` makes
 * for every `pack` to keep shared objects shared, which an array of primitives does not have.
 */
const flatPackr = new Packr({ ...msgpackOptions(), structuredClone: false, moreTypes: true });

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

/** Bytes `value` takes encoded, as it would in a command. */
export function encodedSize(value: unknown): number {
  // Strings, the usual value, are measured without encoding them (each apply measures the value it stores).
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value);
    return bytes + (bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5);
  }
  return packr.pack(value).byteLength;
}

// A stamped entry starts with 0xc1, a byte msgpack never uses, then flags, the time and the cap (float64 BE).
const STAMPED = 0xc1;
const HAS_LIMIT = 1;
const EVICT_TTL = 2;
const STAMP_BYTES = 18;

/** The leader's stamp followed by the command's bytes: what goes into the log. */
export function stampCommand(data: Uint8Array, stamp: LeaderStamp): Uint8Array {
  return stampCommands([data], stamp)[0]!;
}

/**
 * `stampCommand` for a batch the leader appends at once, in one ArrayBuffer: one of its own per entry cost
 * more than the rest of the stamping. The entries are neighbours in one log, so they are dropped together.
 */
export function stampCommands(batch: readonly Uint8Array[], stamp: LeaderStamp): Uint8Array[] {
  let bytes = 0;
  for (const data of batch) bytes += STAMP_BYTES + data.byteLength;
  // A Buffer, so the entries (its views) decode without a Buffer view of their own (parseCommand).
  const block = Buffer.allocUnsafeSlow(bytes);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const limit = stamp.storeLimit;
  const flags = (limit ? HAS_LIMIT : 0) | (limit?.evictTtl ? EVICT_TTL : 0);
  const stamped: Uint8Array[] = [];
  let at = 0;
  for (const data of batch) {
    block[at] = STAMPED;
    block[at + 1] = flags;
    view.setFloat64(at + 2, stamp.time);
    view.setFloat64(at + 10, limit?.maxBytes ?? 0);
    block.set(data, at + STAMP_BYTES);
    stamped.push(block.subarray(at, at + STAMP_BYTES + data.byteLength));
    at += STAMP_BYTES + data.byteLength;
  }
  return stamped;
}

/**
 * Where the command's bytes start in a log entry's data: after the leader's stamp, or at 0 in an unstamped
 * entry. The stamp is read in place (`stampTime`, `stampLimit`): every node applies every entry, and a view
 * and objects per entry were most of what an apply allocated.
 */
export function commandStart(data: Uint8Array): number {
  return data[0] === STAMPED && data.byteLength >= STAMP_BYTES ? STAMP_BYTES : 0;
}

/** The leader's time in stamped data (`commandStart` > 0). */
export function stampTime(data: Uint8Array): number {
  return readFloat64(data, 2);
}

let lastLimit: StoreLimit | null = null;

/** The memory cap in stamped data (`commandStart` > 0); one object for as long as the cap stays the same. */
export function stampLimit(data: Uint8Array): StoreLimit | null {
  const flags = data[1]!;
  if (!(flags & HAS_LIMIT)) return null;
  const maxBytes = readFloat64(data, 10);
  const evictTtl = (flags & EVICT_TTL) !== 0;
  if (lastLimit?.maxBytes !== maxBytes || lastLimit.evictTtl !== evictTtl) lastLimit = { maxBytes, evictTtl };
  return lastLimit;
}

const scratch = new DataView(new ArrayBuffer(8));

function readFloat64(data: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratch.setUint8(i, data[at + i]!);
  return scratch.getFloat64(0);
}

const OPERATIONS: readonly unknown[] = ['set', 'delete', 'cas', 'increment', 'expire', 'txn'];

/**
 * The command in `data` from `start` on, in either encoding (positional-command.ts), or why it is not one
 * every node can apply (peers' writes are untrusted). Its strings are its own, not slices of the command's
 * text, so a stored value keeps nothing else alive.
 */
export function parseCommand(data: Uint8Array, start = 0): LoggedCommand | string {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let decoded: unknown = decodeFlatArray(bytes, start);
  if (decoded === null) {
    try {
      // Strings copied out of the slices msgpackr decodes them as, as decodeFlatArray's are.
      decoded = detachStrings(unpackr.unpack(start === 0 ? bytes : bytes.subarray(start)));
    } catch {
      return 'the command does not decode';
    }
  }
  if (Array.isArray(decoded)) {
    decoded = fromPositional(decoded);
    if (typeof decoded === 'string') return decoded;
  }
  const command = (decoded as { command?: Record<string, unknown> } | null)?.command;
  if (typeof command !== 'object' || command === null) return 'no command';
  if (GRID_OPERATIONS.includes(command.op as string)) {
    return gridCommandProblem(command) ?? (decoded as LoggedCommand);
  }
  if (LOCK_OPERATIONS.includes(command.op as string)) {
    return lockCommandProblem(command) ?? (decoded as LoggedCommand);
  }
  if (!OPERATIONS.includes(command.op)) return `unknown operation ${String(command.op)}`;
  if (command.op === 'txn') return txnProblem(command) ?? (decoded as LoggedCommand);
  if (typeof command.key !== 'string') return 'the key is not a string';
  if (command.map !== undefined && typeof command.map !== 'string') return 'the map is not a string';
  if (command.op === 'increment' && typeof command.delta !== 'number') return 'the delta is not a number';
  if (command.op === 'expire' && typeof command.revision !== 'number') return 'the revision is not a number';
  // A deadline the expiry index can order: NaN would make its order depend on insertion order.
  const ttlMs = command.ttlMs;
  if (ttlMs !== undefined && !(typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs >= 0))
    return 'ttlMs is not a finite number of milliseconds';
  if (command.ifVersion !== undefined && typeof command.ifVersion !== 'number')
    return 'ifVersion is not a number';
  return decoded as LoggedCommand;
}
