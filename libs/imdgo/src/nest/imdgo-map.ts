import { defer, filter, map, type Observable } from 'rxjs';
import { CompactedError, InvalidArgumentError, InvalidKeyError, StoreFullError } from '../errors.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import type { CommandResult, KeyedKvCommand } from '../state-machine/commands.ts';
import type { KvRecord } from '../state-machine/kv-record.ts';
import { encodeGridCursor, GridPosition, type GridNode } from '../grid/index.ts';
import { globToRegExp } from './glob.ts';
import { ownChange, ownChanges, ownResult } from './own-values.ts';
import { MAX_KEY_BYTES } from './imdgo-options.ts';
import { commitTxn, type TxnRequest, type TxnResult } from './map-txn.ts';
import { updateKey, type UpdateOptions, type UpdateResult, type VersionedAccess } from './update.ts';
import type { ImdgoRuntime } from './imdgo-runtime.ts';
import type { Consistency } from './key-value-backend.ts';

export type { Consistency };

export interface ReadOptions {
  readonly consistency?: Consistency;
}

export interface WriteOptions {
  /** Time to live in milliseconds; the key expires on every node at the same log-decided deadline. */
  readonly ttl?: number;
}

export interface ListOptions extends ReadOptions {
  readonly prefix?: string;
  /** Cursor: only keys after this one (the `cursor` of the previous page). */
  readonly after?: string;
  readonly limit?: number;
}

export interface Entry<V> {
  readonly key: string;
  readonly value: V;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Deadline in ms since the epoch (log time: the leader's clock), or null. */
  readonly expiresAt: number | null;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass as `after` for the next page; null when this page is the last. */
  readonly cursor: string | null;
}

/**
 * Every result's `revision` is its partition's: with `partitions` > 1 each partition is its own Raft group
 * counting its own revisions, so revisions compare only within one `partition`.
 */
export interface SetResult<V> {
  readonly revision: number;
  /** The key's partition (always 0 with one partition). */
  readonly partition: number;
  readonly previous: V | undefined;
}

export interface DeleteResult<V> {
  readonly revision: number;
  readonly partition: number;
  readonly deleted: boolean;
  readonly previous: V | undefined;
}

export interface ConditionalResult<V> {
  /** Whether the condition held and the write took effect. */
  readonly applied: boolean;
  readonly revision: number;
  readonly partition: number;
  /** The value after the command: the new one if applied, else the one that stopped it. */
  readonly current: V | undefined;
  readonly version: number;
}

export interface WatchOptions {
  /**
   * Replay retained changes from this point on (etcd's start_revision); live changes only if absent. With
   * one partition, a revision. With `partitions` > 1, revisions are per partition, so the point is an opaque
   * cursor covering every partition: the `cursor` of the last event a watch delivered.
   */
  readonly fromRevision?: number | string;
}

/** An event of `watch`; with `partitions` > 1 it names its partition and the cursor to resume after it. */
export type WatchEvent<V> = ChangeEvent<V> & {
  /** The partition of the key (revisions are per partition); absent with one partition. */
  readonly partition?: number;
  /** Pass as `fromRevision` to resume right after this event; absent with one partition. */
  readonly cursor?: string;
};

/** A typed view over one named key space; every operation goes through the Raft log or its ReadIndex. */
export class ImdgoMap<V = unknown> {
  protected readonly runtime: ImdgoRuntime;
  readonly name: string;

  constructor(runtime: ImdgoRuntime, name: string) {
    this.runtime = runtime;
    this.name = name;
  }

  /** `T` narrows the value's type, unchecked (as `map<V>()` does): `store.get<User>('user:1')`. */
  async get<T extends V = V>(key: string, options?: ReadOptions): Promise<T | undefined> {
    return (await this.getEntry<T>(key, options))?.value;
  }

  async getEntry<T extends V = V>(key: string, options?: ReadOptions): Promise<Entry<T> | undefined> {
    checkKey(key);
    const record = await this.read(key, options?.consistency);
    return record && toEntry<T>(key, record);
  }

  /**
   * This node's value right now, synchronously: no network, no consistency guarantee. With `partitions` > 1,
   * undefined on a node that holds no replica of the key's partition (use `get` with `'local'` there).
   */
  peek<T extends V = V>(key: string): T | undefined {
    const backend = this.runtime.backend;
    return backend.peek(backend.partitionOf(this.name, key), this.name, key)?.value as T | undefined;
  }

  async has(key: string, options?: ReadOptions): Promise<boolean> {
    return (await this.getEntry(key, options)) !== undefined;
  }

  async size(options?: ReadOptions): Promise<number> {
    const consistency = consistencyOf(options?.consistency);
    const backend = this.runtime.backend;
    const sizes = await Promise.all(
      partitionsOf(backend.partitions).map((p) => backend.size(p, this.name, consistency)),
    );
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  async keys(options: ListOptions = {}): Promise<Page<string>> {
    const page = await this.entries(options);
    return { items: page.items.map((e) => e.key), cursor: page.cursor };
  }

  /** Live entries in key order, `limit` at a time (default 1000), resumable with `cursor`. */
  async entries<T extends V = V>(options: ListOptions = {}): Promise<Page<Entry<T>>> {
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1)
      throw new InvalidArgumentError(`limit must be a positive integer, got ${limit}`);
    const consistency = consistencyOf(options.consistency);
    const backend = this.runtime.backend;
    const listing = { prefix: options.prefix, after: options.after, limit };
    // Each partition lists its first `limit` keys after the cursor; the first `limit` of their union, in key
    // order, are this page, and the next page's `after` (its last key) resumes every partition correctly.
    const pages = await Promise.all(
      partitionsOf(backend.partitions).map((p) => backend.list(p, this.name, listing, consistency)),
    );
    const found = pages.length === 1 ? pages[0]!.entries : pages.flatMap((page) => page.entries).sort(byKey);
    const items = found.slice(0, limit).map(([key, record]) => toEntry<T>(key, record));
    const more = found.length > limit || pages.some((page) => page.more);
    return { items, cursor: more ? items[items.length - 1]!.key : null };
  }

  async set(key: string, value: V, options?: WriteOptions): Promise<SetResult<V>> {
    const result = await this.write({ op: 'set', map: this.name, key, value, ttlMs: ttlOf(options) });
    return {
      revision: result.revision,
      partition: this.partitionOf(key),
      previous: result.previous as V | undefined,
    };
  }

  async delete(key: string): Promise<DeleteResult<V>> {
    const result = await this.write({ op: 'delete', map: this.name, key });
    return {
      revision: result.revision,
      partition: this.partitionOf(key),
      deleted: result.applied,
      previous: result.previous as V | undefined,
    };
  }

  /** Sets the key only if it is absent (Hazelcast's putIfAbsent). */
  async putIfAbsent(key: string, value: V, options?: WriteOptions): Promise<ConditionalResult<V>> {
    return conditional<V>(
      this.partitionOf(key),
      await this.write({ op: 'set', map: this.name, key, value, ttlMs: ttlOf(options), ifAbsent: true }),
    );
  }

  /** Sets `next` only if the current value deeply equals `expected` (`undefined`/`null`: absent). */
  async compareAndSet(
    key: string,
    expected: V | undefined,
    next: V,
    options?: WriteOptions,
  ): Promise<ConditionalResult<V>> {
    return conditional<V>(
      this.partitionOf(key),
      await this.write({
        op: 'cas',
        map: this.name,
        key,
        expected: expected ?? null,
        value: next,
        ttlMs: ttlOf(options),
      }),
    );
  }

  /** Sets the value only if the key's version is `version` (0: the key must be absent), as etcd's txn does. */
  async setIfVersion(
    key: string,
    version: number,
    value: V,
    options?: WriteOptions,
  ): Promise<ConditionalResult<V>> {
    if (!Number.isInteger(version) || version < 0) {
      throw new InvalidArgumentError(`version must be a non-negative integer, got ${version}`);
    }
    return conditional<V>(
      this.partitionOf(key),
      await this.write({ op: 'set', map: this.name, key, value, ttlMs: ttlOf(options), ifVersion: version }),
    );
  }

  /** Adds `delta` to a numeric value (absent counts as 0) and returns the new value. */
  async increment(
    key: string,
    delta = 1,
    options?: WriteOptions,
  ): Promise<{ value: number; revision: number; partition: number }> {
    if (typeof delta !== 'number' || !Number.isFinite(delta))
      throw new InvalidArgumentError(`delta must be a finite number, got ${delta}`);
    const result = await this.write({ op: 'increment', map: this.name, key, delta, ttlMs: ttlOf(options) });
    if (!result.applied)
      throw new InvalidArgumentError(`cannot increment key "${key}": its value is not a number`);
    return { value: result.value as number, revision: result.revision, partition: this.partitionOf(key) };
  }

  /**
   * Read, compute, write if unchanged (`setIfVersion`), retrying `fn` on the value another writer left.
   * `fn` returning undefined deletes the key. Throws UpdateConflictError when the retries run out.
   */
  async update(
    key: string,
    fn: (current: V | undefined) => V | undefined | Promise<V | undefined>,
    options?: UpdateOptions<V>,
  ): Promise<UpdateResult<V>> {
    const access: VersionedAccess<V> = {
      getEntry: (k, read) => this.getEntry(k, read),
      setIfVersion: (k, version, value, ttl) =>
        this.write({ op: 'set', map: this.name, key: k, value, ttlMs: ttlOf({ ttl }), ifVersion: version }),
      deleteIfVersion: (k, version) =>
        this.write({ op: 'delete', map: this.name, key: k, ifVersion: version }),
    };
    return { ...(await updateKey(access, key, fn, options)), partition: this.partitionOf(key) };
  }

  /** etcd's Txn on keys of this map, applied atomically through one log entry (see TxnRequest). */
  txn(request: TxnRequest<V>): Promise<TxnResult> {
    return commitTxn(this.runtime, this.name, request);
  }

  /** Changes to this map, as they are applied on this node, and every `reset`. */
  get changes$(): Observable<ChangeEvent<V>> {
    const changes = this.runtime.changes$.pipe(
      filter((change) => change.map === this.name || change.type === 'reset'),
      ownChanges(),
    );
    return changes as Observable<ChangeEvent<V>>;
  }

  /**
   * Changes to the keys `pattern` matches, optionally replayed from a past revision. The pattern is the
   * glob of `@OnKeyChange` (glob.ts): a plain key, a prefix such as `'user:*'`, or `'a*b'`, `'user:?'`.
   * Errors with CompactedError when that revision is no longer retained, or when this node's state jumps
   * to a snapshot while watching (the changes it covers were never emitted): re-read, then watch again.
   */
  watch<T extends V = V>(pattern: string, options: WatchOptions = {}): Observable<WatchEvent<T>> {
    const keys = globToRegExp(pattern);
    const from = options.fromRevision;
    const grid = this.runtime.grid;
    if (grid) return this.watchGrid<T>(grid, keys, from);
    if (from !== undefined && (typeof from !== 'number' || !Number.isInteger(from) || from < 1)) {
      throw new InvalidArgumentError(`fromRevision must be a positive integer, got ${String(from)}`);
    }
    const source = (
      from === undefined ? this.runtime.changes$ : this.runtime.changesFrom(from)
    ) as Observable<ChangeEvent<T>>;
    return defer(() => {
      let next = from;
      return source.pipe(
        map((change) => {
          if (change.type === 'reset') throw new CompactedError(next ?? change.revision, change.revision + 1);
          next = change.revision + 1;
          return change;
        }),
        filter((change) => change.map === this.name && keys.test(change.key)),
        ownChanges(),
      );
    });
  }

  /** The key's partition: 0 with one partition, else by hash of (map, key) or of its `{tag}`. */
  partitionOf(key: string): number {
    return this.runtime.backend.partitionOf(this.name, key);
  }

  /** Partitioned watch: every event carries the cursor (every partition's last revision seen) after it. */
  private watchGrid<T>(
    grid: GridNode,
    keys: RegExp,
    from: number | string | undefined,
  ): Observable<WatchEvent<T>> {
    if (from !== undefined && typeof from !== 'string') {
      throw new InvalidArgumentError(
        `with partitions > 1, fromRevision is the cursor of a watch event (revisions are per partition), got ${String(from)}`,
      );
    }
    return defer(() => {
      const position =
        from === undefined
          ? new GridPosition(grid.partitions, currentCursor(grid))
          : new GridPosition(grid.partitions, from);
      const source = from === undefined ? this.runtime.changes$ : this.runtime.changesFrom(from);
      return (source as Observable<ChangeEvent<T> & { partition: number }>).pipe(
        map((change) => {
          if (change.type === 'reset')
            throw new CompactedError(position.revision(change.partition) + 1, change.revision + 1);
          position.advance(change.partition, change.revision);
          return change;
        }),
        filter((change) => change.map === this.name && keys.test(change.key)),
        map((change) => ({ ...ownChange(change), cursor: position.cursor() })),
      );
    });
  }
  /**
   * Not async, and the command comes with this map's name: a frame and a copy of the command on every
   * write were a good part of what it allocates. Callers await it inside async methods, so a key or value
   * refused here rejects their promise as before.
   */
  protected write(command: KeyedKvCommand & { readonly map: string }): Promise<CommandResult> {
    checkKey(command.key);
    if ('value' in command) checkValue(command.value);
    const backend = this.runtime.backend;
    return backend
      .write(backend.partitionOf(this.name, command.key), command, this.runtime.options.maxValueBytes)
      .then(resultForCaller);
  }

  private read(key: string, consistency: Consistency | undefined): Promise<KvRecord | undefined> {
    const backend = this.runtime.backend;
    return backend.read(backend.partitionOf(this.name, key), this.name, key, consistencyOf(consistency));
  }
}

/** The result with values of the caller's own, or StoreFullError for a write the memory cap refused. */
function resultForCaller(result: CommandResult): CommandResult {
  if (result.refusal === 'no-space') throw new StoreFullError(result.maxStoreBytes ?? 0);
  return ownResult(result);
}

function consistencyOf(consistency: Consistency | undefined): Consistency {
  if (consistency === undefined) return 'linearizable';
  if (consistency === 'linearizable' || consistency === 'leader' || consistency === 'local')
    return consistency;
  throw new InvalidArgumentError(`unknown consistency "${String(consistency)}"`);
}

function partitionsOf(count: number): number[] {
  return Array.from({ length: count }, (_, p) => p);
}

function byKey([a]: [string, KvRecord], [b]: [string, KvRecord]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(`keys are strings, got ${typeof key}`);
  if (key.length === 0) throw new InvalidKeyError('the key is empty');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES)
    throw new InvalidKeyError(`the key is ${bytes} bytes, more than ${MAX_KEY_BYTES}`);
}

/** What msgpack would silently turn into nothing is refused (nested functions are dropped, as JSON does). */
export function checkValue(value: unknown): void {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    throw new InvalidArgumentError(
      `a ${value === undefined ? 'undefined' : typeof value} value cannot be stored`,
    );
  }
}

export function ttlOf(options: WriteOptions | undefined): number | undefined {
  const ttl = options?.ttl;
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1) {
    throw new InvalidArgumentError(`ttl must be a positive integer of milliseconds, got ${String(ttl)}`);
  }
  return ttl;
}

function conditional<V>(partition: number, result: CommandResult): ConditionalResult<V> {
  return {
    applied: result.applied,
    revision: result.revision,
    partition,
    current: result.value as V | undefined,
    version: result.version,
  };
}

function toEntry<V>(key: string, record: KvRecord): Entry<V> {
  return {
    key,
    value: record.value as V,
    version: record.version,
    createRevision: record.createRevision,
    modRevision: record.modRevision,
    expiresAt: record.expiresAt ?? null,
  };
}

/** Where this node's feed stands now, in every partition. */
function currentCursor(grid: GridNode): string {
  return encodeGridCursor(Array.from({ length: grid.partitions }, (_, p) => grid.feedRevision(p)));
}
