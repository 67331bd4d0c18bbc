import { randomUUID } from 'node:crypto';
import { filter, merge, map, type Subscription } from 'rxjs';
import { ImdgoError, InvalidArgumentError, LockSessionEndedError } from '../errors.ts';
import { LOCK_SPACE, type LockHolder, type LockOutcome } from '../state-machine/lock-table.ts';
import type { ImdgoLockSessions } from './imdgo-lock-sessions.ts';

export interface TryLockOptions {
  /** How long to wait in the lock's queue (ms); 0 (default): only if it is free now. */
  readonly waitMs?: number;
}

/**
 * A cluster-wide lock (Hazelcast's FencedLock). The owner is this object, not a thread or a node: it may
 * `lock()` again while it holds the lock (reentrant: same token, one `unlock()` per `lock()`), while another
 * object for the same name, on this node or another, waits. Waiters are served in order, each woken by the
 * apply of the release that hands it the lock. The lock belongs to this node's lock session: if the node
 * stops renewing it for `lockSessionTtlMs` (crash, pause, partition), the lock is released on every node and
 * given to the next waiter, with a higher token: pass the token to what the lock protects, and have it refuse
 * a token lower than one it has seen.
 */
export class ImdgoLock implements AsyncDisposable {
  readonly name: string;
  private readonly owner = randomUUID();
  private readonly sessions: ImdgoLockSessions;
  private readonly space: string;
  private readonly reentrant: boolean;
  /** Settles this object's waiting `lock()`/`tryLock()` calls with null (see `abandon`). */
  private readonly waiting = new Set<() => void>();

  constructor(sessions: ImdgoLockSessions, name: string, space = LOCK_SPACE, reentrant = true) {
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidArgumentError('a lock name is a non-empty string');
    this.sessions = sessions;
    this.name = name;
    this.space = space;
    this.reentrant = reentrant;
  }

  /** Waits until this object holds the lock; resolves to its fencing token. */
  async lock(): Promise<number> {
    const token = await this.acquire(Number.POSITIVE_INFINITY);
    if (token === null)
      throw new ImdgoError('LOCK_ABANDONED', `lock "${this.name}" was abandoned while waiting`);
    return token;
  }

  /** The fencing token if this object gets the lock within `waitMs`, else null. */
  async tryLock(options: TryLockOptions = {}): Promise<number | null> {
    const waitMs = options.waitMs ?? 0;
    if (typeof waitMs !== 'number' || !(waitMs >= 0))
      throw new InvalidArgumentError(`waitMs must be a non-negative number, got ${String(waitMs)}`);
    return this.acquire(waitMs);
  }

  /** Releases one `lock()`; the last one hands the lock to the next waiter. */
  async unlock(): Promise<void> {
    const holder = this.holder();
    if (!holder) throw new InvalidArgumentError(`lock "${this.name}" is not held by this lock object`);
    const result = await this.sessions.write(
      { op: 'lock-release', map: this.space, key: this.name, session: holder.session, owner: this.owner },
      holder.session,
    );
    // Its session ended (and the lock went) since this node last applied anything.
    if (!result.applied) throw new LockSessionEndedError(`holding "${this.name}"`);
  }

  /**
   * Leaves the lock's queue and releases the lock however many times it was taken: waiting calls of this
   * object resolve to null.
   */
  async abandon(): Promise<void> {
    for (const stopWaiting of this.waiting) stopWaiting();
    const session = await this.sessions.session();
    const target = { map: this.space, key: this.name, session, owner: this.owner };
    await this.sessions.write({ op: 'lock-cancel', ...target }, session);
    for (let holder = this.holder(); holder; holder = this.holder()) {
      await this.sessions.write({ op: 'lock-release', ...target, session: holder.session }, holder.session);
    }
  }

  /** The holder as this node has applied it, when it is this object (and its session is not known ended). */
  holder(): LockHolder | null {
    const holder = this.sessions.runtime.coordination.machine.locks.holder(this.space, this.name);
    // A copy: the lock table's own object, changed by a caller, would change this node's replica alone.
    return holder?.owner === this.owner ? { ...holder } : null;
  }

  /** Whether this object holds the lock and its session's lease still holds by this node's clock. */
  isHeld(): boolean {
    const holder = this.holder();
    return holder !== null && this.sessions.holdsLease(holder.session);
  }

  /** `await using lock = ...`: released when the scope ends, if held. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.holder()) await this.unlock();
  }

  /** Internal: `lock`, `tryLock` and elections. */
  async acquire(waitMs: number): Promise<number | null> {
    const session = await this.sessions.session();
    const target = { map: this.space, key: this.name, session, owner: this.owner };
    const runtime = this.sessions.runtime;
    return new Promise<number | null>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let subscription: Subscription | undefined = undefined;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        subscription?.unsubscribe();
        this.waiting.delete(abandoned);
        outcome();
      };
      const abandoned = (): void => settle(() => resolve(null));
      this.waiting.add(abandoned);
      const grantedHere = (): number | null => {
        const holder = runtime.coordination.machine.locks.holder(this.space, this.name);
        return holder?.session === session && holder.owner === this.owner ? holder.token : null;
      };
      // Subscribed before the write: the release that grants it may apply here before the write's answer.
      subscription = merge(
        runtime.coordinationChanges$.pipe(
          filter((c) => c.type === 'reset' || (c.map === this.space && c.key === this.name)),
          map(() => 'change' as const),
        ),
        this.sessions.ended$.pipe(
          filter((id) => id === session),
          map(() => 'ended' as const),
        ),
      ).subscribe((what) => {
        if (what === 'ended') settle(() => reject(new LockSessionEndedError(`waiting for "${this.name}"`)));
        const token = grantedHere();
        if (token !== null) settle(() => resolve(token));
      });
      const cancel = async (): Promise<void> => {
        try {
          const result = await this.sessions.write({ op: 'lock-cancel', ...target }, session);
          // It may have been handed over just before the cancel applied: then it is held, and kept.
          const token = (result.value as LockOutcome).token;
          settle(() => resolve(token));
        } catch (error) {
          settle(() => reject(error));
        }
      };
      this.sessions
        .write({ op: 'lock-acquire', ...target, wait: waitMs > 0, reentrant: this.reentrant }, session)
        .then((result) => {
          const outcome = result.value as LockOutcome;
          if (!outcome.session) {
            settle(() => reject(new LockSessionEndedError(`acquiring "${this.name}"`)));
          } else if (outcome.token !== null) {
            const token = outcome.token;
            settle(() => resolve(token));
          } else if (!outcome.queued) {
            settle(() => resolve(null));
          } else if (Number.isFinite(waitMs) && !settled) {
            timer = setTimeout(() => void cancel(), waitMs);
          }
        })
        .catch((error: unknown) => settle(() => reject(error)));
    });
  }
}
