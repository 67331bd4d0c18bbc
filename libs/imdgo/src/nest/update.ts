import { InvalidArgumentError, UpdateConflictError } from '../errors.ts';
import type { CommandResult } from '../state-machine/commands.ts';
import type { Consistency, Entry } from './imdgo-map.ts';

export interface UpdateOptions<V> {
  /** Attempts after the first when another writer changed the key in between (default 10). */
  readonly retries?: number;
  /** How the first attempt reads the key (default `linearizable`); later attempts need no read. */
  readonly consistency?: Consistency;
  /**
   * The written value's TTL in ms, or a function of it. Like `set`, each write replaces the key's TTL:
   * none when this is absent or gives undefined.
   */
  readonly ttl?: number | ((next: V) => number | undefined);
}

export interface UpdateResult<V> {
  /** The value `fn` returned and that was written (undefined: the key was deleted, or stayed absent). */
  readonly value: V | undefined;
  /** The revision of the write (0 when `fn` left an absent key absent: nothing was written). */
  readonly revision: number;
  /** The key's partition: revisions are per partition. */
  readonly partition: number;
  /** The key's version after the update (0: absent). */
  readonly version: number;
  /** How many times `fn` ran. */
  readonly attempts: number;
}

/** The map operations `update` is made of; each write is conditional on `version` (0: absent). */
export interface VersionedAccess<V> {
  getEntry(key: string, options: { consistency?: Consistency }): Promise<Entry<V> | undefined>;
  setIfVersion(key: string, version: number, value: V, ttl: number | undefined): Promise<CommandResult>;
  deleteIfVersion(key: string, version: number): Promise<CommandResult>;
}

export const DEFAULT_UPDATE_RETRIES = 10;

/**
 * Read, compute, write if the key's version is still the one read; on a conflict, compute again from the
 * value the refused write found (no extra read). Each write is exactly-once through the client session, so
 * `fn` may run more than once but its result is written at most once.
 */
export async function updateKey<V>(
  access: VersionedAccess<V>,
  key: string,
  fn: (current: V | undefined) => V | undefined | Promise<V | undefined>,
  options: UpdateOptions<V> = {},
): Promise<Omit<UpdateResult<V>, 'partition'>> {
  if (typeof fn !== 'function')
    throw new InvalidArgumentError('update needs a function of the current value');
  const retries = options.retries ?? DEFAULT_UPDATE_RETRIES;
  if (!Number.isInteger(retries) || retries < 0)
    throw new InvalidArgumentError(`retries must be a non-negative integer, got ${retries}`);
  const entry = await access.getEntry(key, { consistency: options.consistency });
  let current = entry?.value;
  let version = entry?.version ?? 0;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    const next = await fn(current);
    if (next === undefined && version === 0) {
      // Nothing to delete, and nothing written.
      return { value: undefined, revision: 0, version: 0, attempts: attempt };
    }
    const ttl =
      typeof options.ttl === 'function' ? (next === undefined ? undefined : options.ttl(next)) : options.ttl;
    const result =
      next === undefined
        ? await access.deleteIfVersion(key, version)
        : await access.setIfVersion(key, version, next, ttl);
    if (result.applied)
      return { value: next, revision: result.revision, version: result.version, attempts: attempt };
    current = result.value as V | undefined;
    version = result.version;
  }
  throw new UpdateConflictError(key, retries + 1);
}
