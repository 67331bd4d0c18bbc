import { EventEmitter } from 'node:events';
import { InvalidArgumentError } from '../errors.ts';
import type { ImdgoMap } from '../nest/imdgo-map.ts';
import type { ImdgoStore } from '../nest/imdgo-store.ts';
import { MAX_TXN_OPS } from '../state-machine/txn.ts';

export interface ImdgoKeyvStoreOptions {
  /** The imdgo map holding the cache entries (default `keyv`); Keyv prefixes keys with its namespace. */
  readonly map?: string;
}

/**
 * A Keyv 5 storage adapter over imdgo (structurally a `KeyvStoreAdapter`, so that imdgo needs no runtime
 * dependency on keyv). Reads are linearizable and TTLs are imdgo's: a key expires on every node at one
 * log-decided deadline. Batch writes and deletes go through transactions, one per partition (a transaction
 * spans one partition), so a batch is atomic within each partition its keys fall in.
 */
export class ImdgoKeyvStore extends EventEmitter {
  /** Set by Keyv: the prefix (`namespace:`) of the keys this store's `clear` removes. */
  namespace?: string;
  readonly opts: { readonly dialect: 'imdgo'; readonly map: string };
  private readonly entries: ImdgoMap<unknown>;

  constructor(store: ImdgoStore, options: ImdgoKeyvStoreOptions = {}) {
    super();
    const map = options.map ?? 'keyv';
    if (typeof map !== 'string' || map.length === 0)
      throw new InvalidArgumentError('the Keyv store map must be a non-empty string');
    this.opts = { dialect: 'imdgo', map };
    this.entries = store.map(map);
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    return (await this.entries.get(key)) as Value | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return Promise.all(keys.map((key) => this.get<Value>(key)));
  }

  /** `ttl` in milliseconds; undefined or 0 keeps the entry until it is deleted. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await this.entries.set(key, value, { ttl: ttlOf(ttl) });
    return true;
  }

  async setMany(values: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    // One write per key: a batch naming a key twice keeps the last value, as sequential sets would.
    const latest = new Map(values.map((entry) => [entry.key, entry]));
    for (const batch of this.batches([...latest.values()], (entry) => entry.key)) {
      await this.entries.txn({
        success: batch.map(({ key, value, ttl }) => ({ op: 'set', key, value, ttl: ttlOf(ttl) })),
      });
    }
  }

  async delete(key: string): Promise<boolean> {
    return (await this.entries.delete(key)).deleted;
  }

  /** True when every key was there (as Keyv's own fallback answers). */
  async deleteMany(keys: string[]): Promise<boolean> {
    let all = true;
    for (const batch of this.batches([...new Set(keys)], (key) => key)) {
      const { results } = await this.entries.txn({ success: batch.map((key) => ({ op: 'delete', key })) });
      all &&= results.every((result) => result.deleted);
    }
    return all && new Set(keys).size === keys.length;
  }

  async has(key: string): Promise<boolean> {
    return this.entries.has(key);
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.has(key)));
  }

  /** Deletes the entries of this namespace (every entry of the map when there is none). */
  async clear(): Promise<void> {
    const prefix = this.namespace ? `${this.namespace}:` : '';
    for (;;) {
      const page = await this.entries.keys({ prefix, limit: MAX_TXN_OPS });
      if (page.items.length === 0) return;
      for (const batch of this.batches(page.items, (key) => key))
        await this.entries.txn({ success: batch.map((key) => ({ op: 'delete', key })) });
    }
  }

  /** Transaction-sized batches of `items` whose keys share a partition. */
  private batches<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
    const byPartition = new Map<number, T[]>();
    for (const item of items) {
      const partition = this.entries.partitionOf(keyOf(item));
      const group = byPartition.get(partition);
      if (group) group.push(item);
      else byPartition.set(partition, [item]);
    }
    return [...byPartition.values()].flatMap((group) => chunks(group, MAX_TXN_OPS));
  }

  /** The imdgo store belongs to the app and closes with it. */
  async disconnect(): Promise<void> {}
}

/** A Keyv store adapter over `store` (see ImdgoKeyvStore). */
export function imdgoKeyvStore(store: ImdgoStore, options?: ImdgoKeyvStoreOptions): ImdgoKeyvStore {
  return new ImdgoKeyvStore(store, options);
}

function ttlOf(ttl: number | undefined): number | undefined {
  if (ttl === undefined || ttl === 0) return undefined;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0)
    throw new InvalidArgumentError(`a Keyv ttl is a non-negative number of milliseconds, got ${String(ttl)}`);
  // imdgo's TTLs are whole milliseconds: round up so that an entry never expires early.
  return Math.ceil(ttl);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
