import { Inject, Injectable, Optional } from '@nestjs/common';
import { InvalidArgumentError } from '../errors.ts';
import type { ImdgoMap } from '../nest/imdgo-map.ts';
import { ImdgoStore } from '../nest/imdgo-store.ts';

/** What `@nestjs/throttler`'s guard needs back from `increment` (its `ThrottlerStorageRecord`). */
export interface ThrottlerRecord {
  readonly totalHits: number;
  /** Seconds until the window ends. */
  readonly timeToExpire: number;
  readonly isBlocked: boolean;
  /** Seconds until the block ends (0 when not blocked). */
  readonly timeToBlockExpire: number;
}

/** One tracker's fixed window for one throttler, as stored (times on the clock of the instance that wrote). */
export interface ThrottlerWindow {
  readonly hits: number;
  readonly windowEndsAt: number;
  /** 0 when not blocked. */
  readonly blockedUntil: number;
}

export interface ImdgoThrottlerStorageOptions {
  /** The imdgo map holding the counters (default `throttler`). */
  readonly map?: string;
  /** Conflict retries per hit (default 100): concurrent hits on one tracker each win one round. */
  readonly retries?: number;
  /** Milliseconds since the epoch (default `Date.now`). */
  readonly clock?: () => number;
}

/** Optional provider of ImdgoThrottlerStorageOptions when Nest constructs the storage. */
export const IMDGO_THROTTLER_OPTIONS = Symbol('IMDGO_THROTTLER_OPTIONS');

/**
 * A `ThrottlerStorage` for `@nestjs/throttler` 6 whose counts are shared by every instance: each hit is a
 * conditional write through the Raft log (`update`), so no two instances count from the same value and a
 * retried write counts once. Fixed windows, as the throttler's own in-memory storage keeps them.
 */
@Injectable()
export class ImdgoThrottlerStorage {
  private readonly windows: ImdgoMap<ThrottlerWindow>;
  private readonly retries: number;
  private readonly clock: () => number;

  constructor(
    @Inject(ImdgoStore) store: ImdgoStore,
    @Optional() @Inject(IMDGO_THROTTLER_OPTIONS) options: ImdgoThrottlerStorageOptions = {},
  ) {
    this.windows = store.map<ThrottlerWindow>(options.map ?? 'throttler');
    this.retries = options.retries ?? 100;
    this.clock = options.clock ?? Date.now;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    for (const [name, n] of [
      ['ttl', ttl],
      ['limit', limit],
      ['blockDuration', blockDuration],
    ] as const) {
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError(`${name} must be a non-negative number, got ${String(n)}`);
    }
    const id = `${throttlerName}:${key}`;
    // A blocked tracker stays blocked until the deadline whatever else is written, so even a stale local
    // copy answers it, and a flood of blocked requests writes nothing to the log.
    const seen = this.windows.peek(id);
    const then = this.clock();
    if (seen && seen.blockedUntil > then) return record(seen, then);
    let now = 0;
    const { value } = await this.windows.update(
      id,
      (current) => {
        now = this.clock();
        return nextWindow(current, now, ttl, limit, blockDuration);
      },
      {
        retries: this.retries,
        // A stale read only costs a retry: the write is conditional on the version read.
        consistency: 'local',
        // The record outlives its window and block by nothing, so idle trackers leave no keys behind.
        ttl: (next) => Math.max(1, Math.ceil(Math.max(next.windowEndsAt, next.blockedUntil) - now)),
      },
    );
    return record(value!, now);
  }
}

function record(window: ThrottlerWindow, now: number): ThrottlerRecord {
  const isBlocked = window.blockedUntil > now;
  return {
    totalHits: window.hits,
    timeToExpire: Math.ceil((window.windowEndsAt - now) / 1000),
    isBlocked,
    timeToBlockExpire: isBlocked ? Math.ceil((window.blockedUntil - now) / 1000) : 0,
  };
}

/**
 * The window after one more hit at `now`: a new window once the old one ended or a block ran out; a hit
 * over `limit` blocks for `blockDuration` (to the end of the window when 0), and a blocked hit is not counted.
 */
export function nextWindow(
  current: ThrottlerWindow | undefined,
  now: number,
  ttl: number,
  limit: number,
  blockDuration: number,
): ThrottlerWindow {
  const blockOver = current !== undefined && current.blockedUntil !== 0 && current.blockedUntil <= now;
  const windowOver = current !== undefined && current.windowEndsAt <= now && current.blockedUntil <= now;
  if (!current || windowOver || blockOver) {
    current = { hits: 0, windowEndsAt: now + ttl, blockedUntil: 0 };
  }
  if (current.blockedUntil > now) return current;
  const hits = current.hits + 1;
  const blockedUntil = hits > limit ? (blockDuration > 0 ? now + blockDuration : current.windowEndsAt) : 0;
  return { hits, windowEndsAt: current.windowEndsAt, blockedUntil };
}
