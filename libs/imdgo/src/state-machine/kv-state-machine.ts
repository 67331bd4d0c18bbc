import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Packr } from 'msgpackr';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import type { Entry } from '../raft/types.ts';
import type { ChangeEvent } from './change-event.ts';
import {
  commandStart,
  parseCommand,
  stampLimit,
  stampTime,
  DEFAULT_MAP,
  type CommandResult,
  type KeyedKvCommand,
  type KvCommand,
  type LoggedCommand,
  type StoreLimit,
} from './commands.ts';
import { ExpiryIndex, type ExpiryCandidate } from './expiry-index.ts';
import { GRID_OPERATIONS, type GridCommand } from './grid-commands.ts';
import { GridMeta } from './grid-meta.ts';
import { ExpiryProposer, type DueExpiry } from './expiry-proposer.ts';
import { isLive, kvRecord, valueSize, type KvRecord } from './kv-record.ts';
import { LOCK_OPERATIONS, LOCK_SESSION_SPACE, LockTable, type LockCommand } from './lock-table.ts';
import { RecordTable } from './record-table.ts';
import { SESSION_IDLE_MS, SessionTable } from './session-table.ts';
import { decodeImage, type StateCapture } from './snapshot-image.ts';
import { compareHolds, type TxnCommand, type TxnOpResult } from './txn.ts';

export interface AppliedCommand {
  readonly index: number;
  /** Null for no-op entries and for stale retries that changed nothing. */
  readonly result: CommandResult | null;
  /** True when `result` is the remembered answer of an earlier, identical write. */
  readonly duplicate: boolean;
  /** What changed, in order: usually one change, more when keys were evicted to make room. */
  readonly changes: readonly ChangeEvent[];
}

export interface ListOptions {
  readonly prefix?: string;
  /** Exclusive cursor: only keys sorted after this one. */
  readonly after?: string;
  readonly limit?: number;
}

interface ApplyContext {
  readonly revision: number;
  /** The entry's time: the leader's stamp, never below the previous entry's. */
  readonly time: number;
  readonly storeLimit: StoreLimit | null;
  /** A session keeps the result of this write, and with it the value the write replaces. */
  readonly keepsReplaced: boolean;
}

/** How long the leader waits for an expire it proposed to apply before it proposes it again. */
const EXPIRE_RETRY_MS = 1_000;

/**
 * The replicated maps. Deterministic: everything an apply decides depends only on the log, so applying the
 * same log gives the same state on every node. Time enters only through the leader's stamp on each entry
 * (`logTime`); reads filter expired keys by that log time, not by the reader's clock, so two nodes at the
 * same applied index answer alike.
 */
export class KvStateMachine {
  private maps = new Map<string, RecordTable>();
  private sessions: SessionTable;
  private expiries = new ExpiryIndex();
  /** Lock sessions, locks and elections. */
  locks = new LockTable();
  /** The grid's members and partition table (used by the coordination group only). */
  grid = new GridMeta();
  private readonly sessionIdleMs: number;
  private readonly youngRecords: number | undefined;
  appliedIndex = 0;
  /** The time of the latest stamped entry applied (ms since the epoch, leader clocks, monotonic). */
  logTime = 0;
  /** Sum of the accounted size of every record (key plus encoded value), for the memory cap. */
  dataBytes = 0;
  private changes: ChangeEvent[] = [];
  /** Not replicated: what this node proposed while leader. The expiry index is left to applies alone. */
  private readonly proposer = new ExpiryProposer(EXPIRE_RETRY_MS);

  /**
   * Both for tests. `sessionIdleMs` decides what applies do, so every replica must use the same value;
   * `youngRecords` (RecordTable's) only where records live, which no answer depends on.
   */
  constructor(options: { sessionIdleMs?: number; youngRecords?: number } = {}) {
    this.sessionIdleMs = options.sessionIdleMs ?? SESSION_IDLE_MS;
    this.youngRecords = options.youngRecords;
    this.sessions = new SessionTable(this.sessionIdleMs);
  }

  /** What the memory cap counts: stored keys and values, and the replaced values sessions still hold. */
  get usedBytes(): number {
    return this.dataBytes + this.sessions.retainedBytes;
  }

  /** Client sessions remembered for exactly-once writes. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Keys with a TTL the state machine tracks: one per live key with a TTL. */
  get expiryCount(): number {
    return this.expiries.size;
  }

  /**
   * A consistent copy of the state for a snapshot, cheap enough to take between two applies: records are
   * never written over, so copying the indexes (not the records) freezes the state while the image is
   * encoded later.
   */
  capture(): StateCapture {
    return {
      appliedIndex: this.appliedIndex,
      logTime: this.logTime,
      sessions: this.sessions.export(),
      locks: this.locks.export(),
      grid: this.grid.export(),
      maps: [...this.maps].map(([name, records]) => [name, records.freeze()]),
    };
  }

  /** Replaces the whole state with a snapshot image (InstallSnapshot, or a restart from disk). */
  restore(image: Uint8Array): void {
    const decoded = decodeImage(image, () => this.newTable());
    this.maps = decoded.maps;
    this.sessions = SessionTable.import(decoded.sessions, this.sessionIdleMs);
    this.locks = LockTable.import(decoded.locks);
    this.grid = GridMeta.import(decoded.grid);
    this.appliedIndex = decoded.appliedIndex;
    this.logTime = decoded.logTime;
    this.expiries = new ExpiryIndex();
    this.dataBytes = 0;
    for (const [map, records] of this.maps) {
      for (const [key, record] of records) {
        this.dataBytes += record.size;
        this.expiries.set(map, key, record.expiresAt ?? null);
      }
    }
  }

  /**
   * A hash of the whole replicated state, including what is derived from it (byte counts, TTL order,
   * sessions): equal on two nodes exactly when they would answer and decide alike.
   */
  digest(): string {
    const hash = createHash('sha256');
    // Each record and kept result packed alone: structuredClone packs an object met twice in one pack as a
    // reference, and whether a record's value is the very object a kept result holds differs between
    // nodes (a record read from a chunk, or restored from an image, is a copy).
    const add = (item: unknown) => hash.update(digestPackr.pack(item));
    const expiries = [...this.expiries.ascending()].map(({ map, key, expiresAt }) => [map, key, expiresAt]);
    add([this.appliedIndex, this.logTime, this.dataBytes, this.usedBytes, expiries, this.maps.size]);
    for (const [name, records] of sorted(this.maps)) {
      add([name, records.size]);
      for (const entry of sorted(records)) add(entry);
    }
    const sessions = this.sessions.export();
    add(sessions.length);
    for (const [client, firstKept, lastActive, results] of sessions) {
      add([client, firstKept, lastActive, results.length]);
      for (const kept of results) add(kept);
    }
    add([this.locks.export(), this.grid.export()]);
    return hash.digest('hex');
  }

  /**
   * The key's record unless it has expired by log time. Reads answer values of their own (RecordTable's
   * `read`): what the caller does with one leaves this replica as it is.
   */
  get(map: string, key: string): KvRecord | undefined {
    const record = this.maps.get(map)?.read(key);
    return isLive(record, this.logTime) ? record : undefined;
  }

  /**
   * Live keys: every record but those past their deadline whose expiry is not applied yet. Those are the
   * front of the expiry index, so the count reads no record (metrics ask for it on every scrape).
   */
  size(map: string): number {
    const records = this.maps.get(map);
    if (!records) return 0;
    let lapsed = 0;
    for (const candidate of this.expiries.ascending()) {
      if (candidate.expiresAt > this.logTime) break;
      if (candidate.map === map) lapsed++;
    }
    return records.size - lapsed;
  }

  /** Live keys in ascending order, paged with a cursor. */
  list(map: string, options: ListOptions = {}): [string, KvRecord][] {
    const records = this.maps.get(map);
    if (!records) return [];
    const prefix = options.prefix ?? '';
    const keys: string[] = [];
    for (const key of records.keys()) {
      if (key.startsWith(prefix) && (options.after === undefined || key > options.after)) keys.push(key);
    }
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // Only the records of the page are read (and their values copied, as `get`'s are).
    const limit = options.limit ?? Infinity;
    const out: [string, KvRecord][] = [];
    for (const key of keys) {
      if (out.length >= limit) break;
      const record = records.read(key);
      if (isLive(record, this.logTime)) out.push([key, record]);
    }
    return out;
  }

  mapNames(): string[] {
    return [...this.maps.keys()];
  }

  /**
   * For the leader: up to `limit` keys whose deadline passed by its clock `now` (or by log time, if later)
   * and whose expiry it has not just proposed. Changes nothing replicated.
   */
  dueExpiries(now: number, limit: number): DueExpiry[] {
    return this.proposer.next(this.keysDueBy(Math.max(now, this.logTime)), now, limit);
  }

  private *keysDueBy(time: number): Generator<DueExpiry> {
    for (const { expiresAt, map, key } of this.expiries.ascending()) {
      if (expiresAt > time) break;
      yield { map, key, revision: this.maps.get(map)!.get(key)!.modRevision };
    }
    // An idle cluster still expires a lock session: the leader's expire entry carries the time that does it.
    for (const { id, renewedRevision } of this.locks.dueBy(time)) {
      yield { map: LOCK_SESSION_SPACE, key: id, revision: renewedRevision };
    }
  }

  /**
   * `parsed`: the entry's command as the leader that appended it parsed it already (a forwarded write it
   * checked before proposing), so that it is not parsed twice; it must be what `parseCommand` gives for
   * the entry's command bytes.
   */
  apply(entry: Entry, parsed?: LoggedCommand): AppliedCommand {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`apply out of order: index ${entry.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    this.changes = [];
    if (entry.kind !== 'command') return this.nothing(entry.index);
    const data = entry.data;
    const start = commandStart(data);
    const stamped = start > 0;
    if (stamped) {
      const time = stampTime(data);
      // Log time never goes back, even when a new leader's clock is behind its predecessor's.
      if (Number.isFinite(time)) this.logTime = Math.max(this.logTime, time);
    }
    this.sessions.expireIdle(this.logTime);
    if (stamped) this.locks.expireDue(this.logTime, entry.index, this.changes);
    const logged = parsed ?? parseCommand(data, start);
    // A command no node can apply is skipped by all alike, rather than halting every replica.
    if (typeof logged === 'string') return this.nothing(entry.index);
    const { session, command } = logged;
    if (session) {
      const seen = this.sessions.lookup(session);
      if (seen === 'stale') return this.nothing(entry.index);
      if (seen) return { index: entry.index, result: seen, duplicate: true, changes: this.changes };
    }
    const context: ApplyContext = {
      revision: entry.index,
      time: this.logTime,
      storeLimit: stamped ? stampLimit(data) : null,
      keepsReplaced: session !== undefined,
    };
    if (command.op === 'txn') {
      // A transaction's result keeps no replaced values, so a session retains nothing but the result.
      const result = this.executeTxn(command, { ...context, keepsReplaced: false });
      if (session) this.sessions.record(session, result, 0, this.logTime);
      return { index: entry.index, result, duplicate: false, changes: this.changes };
    }
    let stored: KvRecord | undefined;
    /** The accounted size of `stored`: measuring it means measuring the key and value strings again. */
    let storedSize = 0;
    let result: CommandResult;
    if (isGridCommand(command)) {
      result = this.grid.execute(command, entry.index, this.logTime, this.changes);
    } else if (isLockCommand(command)) {
      result = this.locks.execute(command, entry.index, this.logTime, this.changes);
    } else if (command.op === 'expire' && command.map === LOCK_SESSION_SPACE) {
      // expireDue above already dropped the session if this entry's time reached its deadline.
      const applied = !this.locks.hasSession(command.key);
      result = { applied, revision: entry.index, previous: undefined, value: undefined, version: 0 };
    } else {
      const map = command.map ?? DEFAULT_MAP;
      stored = this.maps.get(map)?.get(command.key);
      storedSize = stored?.size ?? 0;
      result = this.execute(command, map, stored, storedSize, context);
    }
    if (session) {
      // The value this write replaced or removed lives on only in the kept result: the cap counts it.
      const replaced = result.applied && isLive(stored, this.logTime) ? storedSize : 0;
      this.sessions.record(session, result, replaced, this.logTime);
    }
    return { index: entry.index, result, duplicate: false, changes: this.changes };
  }

  /**
   * Adds a change to this entry's. The first is an array of one: an empty array's first push grows it to
   * 17 slots, on every node for every write.
   */
  private announce(change: ChangeEvent): void {
    if (this.changes.length === 0) this.changes = [change];
    else this.changes.push(change);
  }

  private newTable(): RecordTable {
    return new RecordTable({ youngRecords: this.youngRecords });
  }

  /** The outcome of an entry that applies no command (no-op, config, undecodable or stale). */
  private nothing(index: number): AppliedCommand {
    return { index, result: null, duplicate: false, changes: this.changes };
  }

  /**
   * Evaluates every compare, then applies the chosen branch whole: a branch the memory cap has no room
   * for is refused whole (a transaction evicts nothing), so no write of it is seen without the others.
   */
  private executeTxn(command: TxnCommand, context: ApplyContext): CommandResult {
    const { revision, time, storeLimit } = context;
    const lookup = (map: string | undefined, key: string) => this.maps.get(map ?? DEFAULT_MAP)?.get(key);
    const live = (map: string | undefined, key: string) => {
      const stored = lookup(map, key);
      return isLive(stored, time) ? stored : undefined;
    };
    const succeeded = command.compare.every((compare) =>
      compareHolds(compare, live(compare.map, compare.key)),
    );
    const branch = succeeded ? command.success : command.failure;
    if (storeLimit) {
      // Keys in a branch are distinct (parseCommand), so the growth is the sum of each write's.
      let growth = 0;
      for (const op of branch) {
        const size = op.op === 'set' ? valueSize(op.key, op.value) : 0;
        const stored = lookup(op.map, op.key);
        growth += size - (stored?.size ?? 0);
      }
      if (growth > 0 && this.usedBytes + growth > storeLimit.maxBytes) {
        return {
          applied: false,
          revision,
          previous: undefined,
          value: undefined,
          version: 0,
          refusal: 'no-space',
          maxStoreBytes: storeLimit.maxBytes,
        };
      }
    }
    // The cap was checked for the branch as a whole: each write must not check (or evict) again.
    const writeContext = { ...context, storeLimit: null };
    const results: TxnOpResult[] = branch.map((op) => {
      const map = op.map ?? DEFAULT_MAP;
      const stored = lookup(map, op.key);
      const current = isLive(stored, time) ? stored : undefined;
      if (op.op === 'set') {
        const storedSize = stored?.size ?? 0;
        const written = this.write(
          map,
          op.key,
          op.value,
          op.ttlMs,
          stored,
          storedSize,
          current,
          writeContext,
        );
        return { map, key: op.key, version: written.version };
      }
      const removed = this.remove(map, op.key, stored, current, revision, 'delete');
      return { map, key: op.key, version: 0, deleted: removed.applied };
    });
    return { applied: succeeded, revision, previous: undefined, value: undefined, version: 0, txn: results };
  }

  private execute(
    command: KeyedKvCommand,
    map: string,
    stored: KvRecord | undefined,
    storedSize: number,
    context: ApplyContext,
  ): CommandResult {
    const { revision, time } = context;
    // Conditions see the key as of the entry's time: expired keys are absent.
    const current = isLive(stored, time) ? stored : undefined;
    const refuse = (): CommandResult => ({
      applied: false,
      revision,
      previous: current?.value,
      value: current?.value,
      version: current?.version ?? 0,
    });

    switch (command.op) {
      case 'set':
      case 'cas': {
        const holds =
          command.op === 'set'
            ? !(command.ifAbsent && current) &&
              (command.ifVersion === undefined || command.ifVersion === (current?.version ?? 0))
            : isDeepStrictEqual(current?.value ?? null, command.expected ?? null);
        if (!holds) return refuse();
        const { key, value, ttlMs } = command;
        return this.write(map, key, value, ttlMs, stored, storedSize, current, context);
      }
      case 'increment': {
        const base = current?.value ?? 0;
        if (typeof base !== 'number') return refuse();
        const value = base + command.delta;
        return this.write(map, command.key, value, command.ttlMs, stored, storedSize, current, context);
      }
      case 'delete':
        if (command.ifVersion !== undefined && command.ifVersion !== (current?.version ?? 0)) return refuse();
        return this.remove(map, command.key, stored, current, revision, 'delete');
      case 'expire':
        // Only a key not rewritten since, and due by log time (the entry's own time has passed it).
        if (!stored || stored.modRevision !== command.revision || current) return refuse();
        return this.remove(map, command.key, stored, stored, revision, 'expire');
    }
  }

  private write(
    map: string,
    key: string,
    value: unknown,
    ttlMs: number | undefined,
    stored: KvRecord | undefined,
    storedSize: number,
    current: KvRecord | undefined,
    context: ApplyContext,
  ): CommandResult {
    const { revision, time, storeLimit } = context;
    const size = valueSize(key, value);
    const dataGrowth = size - storedSize;
    // The replaced value stays in memory as long as the session keeps this write's result.
    // `current`, when defined, is `stored` (live by the entry's time).
    const growth = dataGrowth + (context.keepsReplaced && current ? storedSize : 0);
    if (storeLimit && growth > 0 && this.usedBytes + growth > storeLimit.maxBytes) {
      const excess = this.usedBytes + growth - storeLimit.maxBytes;
      // Decided before anything is evicted: a write that eviction cannot make room for evicts nothing.
      const victims = storeLimit.evictTtl ? this.evictionVictims(excess, map, key) : null;
      if (!victims) {
        return {
          applied: false,
          revision,
          previous: current?.value,
          value: current?.value,
          version: current?.version ?? 0,
          refusal: 'no-space',
          maxStoreBytes: storeLimit.maxBytes,
        };
      }
      for (const victim of victims) this.evict(victim.map, victim.key, revision);
    }
    const expiresAt = ttlMs === undefined ? null : time + ttlMs;
    const version = (current?.version ?? 0) + 1;
    let records = this.maps.get(map);
    if (!records) {
      records = this.newTable();
      this.maps.set(map, records);
    }
    records.set(
      key,
      kvRecord(value, version, current?.createRevision ?? revision, revision, expiresAt, size),
    );
    this.dataBytes += dataGrowth;
    this.expiries.set(map, key, expiresAt);
    const previous = current?.value;
    this.announce({ type: 'set', map, key, value, previous, revision });
    return { applied: true, revision, previous, value, version };
  }

  /**
   * The memory cap's eviction policy: the keys with a TTL nearest to expiry (never the key being written)
   * that free at least `bytes`, or null when all of them together would not. The expiry index's order is a
   * function of the replicated state alone, so every node picks the same keys.
   */
  private evictionVictims(bytes: number, writingMap: string, writingKey: string): ExpiryCandidate[] | null {
    const victims: ExpiryCandidate[] = [];
    let freed = 0;
    for (const candidate of this.expiries.ascending()) {
      if (freed >= bytes) break;
      if (candidate.map === writingMap && candidate.key === writingKey) continue;
      freed += this.maps.get(candidate.map)!.get(candidate.key)!.size;
      victims.push({ map: candidate.map, key: candidate.key, expiresAt: candidate.expiresAt });
    }
    return freed >= bytes ? victims : null;
  }

  private evict(map: string, key: string, revision: number): void {
    const record = this.maps.get(map)!.get(key)!;
    this.deleteRecord(map, key, record);
    this.announce({ type: 'evict', map, key, value: undefined, previous: record.value, revision });
  }

  private deleteRecord(map: string, key: string, record: KvRecord): void {
    const records = this.maps.get(map)!;
    records.delete(key);
    if (records.size === 0) this.maps.delete(map);
    this.dataBytes -= record.size;
    this.expiries.delete(map, key);
  }

  private remove(
    map: string,
    key: string,
    stored: KvRecord | undefined,
    current: KvRecord | undefined,
    revision: number,
    type: 'delete' | 'expire',
  ): CommandResult {
    if (stored) {
      this.deleteRecord(map, key, stored);
      // Removing a key that had already expired unseen still announces the expiry, so watchers hear of it.
      this.announce({
        type: current ? type : 'expire',
        map,
        key,
        value: undefined,
        previous: stored.value,
        revision,
      });
    }
    return {
      applied: current !== undefined,
      revision,
      previous: current?.value,
      value: undefined,
      version: 0,
    };
  }
}

const digestPackr = new Packr(msgpackOptions());

function isGridCommand(command: KvCommand): command is GridCommand {
  return GRID_OPERATIONS.includes(command.op);
}

function isLockCommand(command: KvCommand): command is LockCommand {
  return LOCK_OPERATIONS.includes(command.op);
}

function sorted<T>(entries: Iterable<[string, T]>): [string, T][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
