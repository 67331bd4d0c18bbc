import type { ChangeEvent } from './change-event.ts';
import type { CommandResult } from './commands.ts';

/** The key spaces of lock state: change events of locks and elections carry these as their `map`. */
export const LOCK_SPACE = 'imdgo:locks';
export const ELECTION_SPACE = 'imdgo:elections';
/** Change events of lock sessions (opened, closed, expired) carry this `map`, the session id as `key`. */
export const LOCK_SESSION_SPACE = 'imdgo:lock-sessions';
export const LOCK_SPACES: readonly string[] = [LOCK_SPACE, ELECTION_SPACE];

export type LockCommand =
  /** Opens (`open`) or renews a session; a renewal of a session that expired fails, it is never revived. */
  | {
      readonly op: 'lock-session';
      /** Unused: a session spans every space (present so that every command may name a map). */
      readonly map?: string;
      readonly key: string;
      readonly node: string;
      readonly ttlMs: number;
      readonly open: boolean;
    }
  | { readonly op: 'lock-session-close'; readonly map?: string; readonly key: string }
  | {
      readonly op: 'lock-acquire';
      readonly map: string;
      readonly key: string;
      readonly session: string;
      readonly owner: string;
      /** Queue behind the holder (FIFO) instead of failing at once. */
      readonly wait: boolean;
      /** The holder acquiring again counts up (a lock); otherwise it just gets its token back (an election). */
      readonly reentrant: boolean;
    }
  | {
      readonly op: 'lock-release' | 'lock-cancel';
      readonly map: string;
      readonly key: string;
      readonly session: string;
      readonly owner: string;
    };

/** Who holds a lock, as change events and reads report it. */
export interface LockHolder {
  readonly session: string;
  readonly owner: string;
  /** The node whose session it is. */
  readonly node: string;
  /** Strictly increasing per lock name (and across them): the granting revision, or above it (see lastToken). */
  readonly token: number;
  /** Reentrant acquisitions not yet released. */
  readonly count: number;
}

/** The `value` of a lock command's result. */
export interface LockOutcome {
  /** The fencing token while the command's owner holds the lock after it, else null. */
  readonly token: number | null;
  /** The owner waits in the lock's queue. */
  readonly queued: boolean;
  /** False when the command's session does not exist (never opened, expired or closed). */
  readonly session: boolean;
}

interface Session {
  readonly node: string;
  readonly ttlMs: number;
  /** Log time and revision of the latest command of the session: it expires `ttlMs` after that time. */
  renewedAt: number;
  renewedRevision: number;
}

interface Waiter {
  readonly session: string;
  readonly owner: string;
}

interface Lock {
  holder: LockHolder | null;
  readonly waiters: Waiter[];
}

export interface LockTableExport {
  /** The latest fencing token granted (absent in older images: 0). */
  readonly lastToken?: number;
  readonly sessions: [id: string, node: string, ttlMs: number, renewedAt: number, renewedRevision: number][];
  readonly locks: [space: string, name: string, holder: LockHolder | null, waiters: Waiter[]][];
}

/** A session due for expiry by log time, for the leader to propose. */
export interface DueSession {
  readonly id: string;
  readonly renewedRevision: number;
}

/**
 * Lock sessions, fenced locks and elections (an election is a lock in ELECTION_SPACE whose holder is the
 * leader). Part of the replicated state: only applies change it, and everything they decide comes from the
 * log: a session expires at the first entry whose log time reaches its deadline, on every node alike.
 * Iteration follows Map insertion order, which the same applies (or a restored export) reproduce.
 */
export class LockTable {
  private readonly sessions = new Map<string, Session>();
  private readonly locks = new Map<string, Map<string, Lock>>();
  /**
   * The latest token granted, by any lock. A token is the granting revision, or one above the latest if
   * that is higher: one entry can hand a lock over twice (its session expiry, then its command).
   */
  private lastToken = 0;
  /**
   * No session's deadline is before this: every entry checks expiry, and most find nothing due without
   * scanning every session. Renewals only move deadlines later (log time never goes back), so the bound
   * stays true until a scan tightens it; -Infinity (a new or restored table) makes the next check scan.
   * Derived, not replicated: it only decides whether to look, never what is found.
   */
  private earliestDeadline = -Infinity;

  holder(space: string, name: string): LockHolder | null {
    return this.locks.get(space)?.get(name)?.holder ?? null;
  }

  hasSession(id: string): boolean {
    return this.sessions.has(id);
  }

  /** Every held lock of `space`, by name. */
  holders(space: string): [string, LockHolder][] {
    const out: [string, LockHolder][] = [];
    for (const [name, lock] of this.locks.get(space) ?? []) if (lock.holder) out.push([name, lock.holder]);
    return out;
  }

  /** Sessions whose deadline passed by `time` (the leader's clock or log time, whichever is later). */
  *dueBy(time: number): Generator<DueSession> {
    if (time < this.earliestDeadline) return;
    for (const [id, s] of this.sessions) {
      if (s.renewedAt + s.ttlMs <= time) yield { id, renewedRevision: s.renewedRevision };
    }
  }

  /**
   * Run by every stamped entry before its command, with the entry's log time: drops the sessions whose
   * deadline it reached and everything they held or waited for, then grants each freed lock to its next
   * waiter. All expired sessions go first, so a lock changes hands at most once per entry (one token each).
   */
  expireDue(time: number, revision: number, changes: ChangeEvent[]): void {
    if (time < this.earliestDeadline) return;
    let expired: Set<string> | undefined;
    let earliest = Infinity;
    for (const [id, s] of this.sessions) {
      const deadline = s.renewedAt + s.ttlMs;
      if (deadline <= time) (expired ??= new Set()).add(id);
      else earliest = Math.min(earliest, deadline);
    }
    this.earliestDeadline = earliest;
    if (expired === undefined) return;
    this.dropSessions(expired, revision, changes, 'expire');
  }

  execute(command: LockCommand, revision: number, time: number, changes: ChangeEvent[]): CommandResult {
    switch (command.op) {
      case 'lock-session': {
        const session = this.sessions.get(command.key);
        if (session) this.touch(session, revision, time);
        else if (command.open) {
          this.sessions.set(command.key, {
            node: command.node,
            ttlMs: command.ttlMs,
            renewedAt: time,
            renewedRevision: revision,
          });
          this.earliestDeadline = Math.min(this.earliestDeadline, time + command.ttlMs);
          changes.push(event('set', LOCK_SESSION_SPACE, command.key, command.node, undefined, revision));
        }
        return sessionResult(this.sessions.has(command.key), revision);
      }
      case 'lock-session-close': {
        const existed = this.sessions.has(command.key);
        if (existed) this.dropSessions(new Set([command.key]), revision, changes, 'delete');
        return sessionResult(existed, revision);
      }
      case 'lock-acquire':
        return this.acquire(command, revision, time, changes);
      case 'lock-release':
      case 'lock-cancel':
        return this.release(command, revision, time, changes);
    }
  }

  private acquire(
    command: Extract<LockCommand, { op: 'lock-acquire' }>,
    revision: number,
    time: number,
    changes: ChangeEvent[],
  ): CommandResult {
    const session = this.sessions.get(command.session);
    if (!session) return outcome(revision, false, { token: null, queued: false, session: false });
    this.touch(session, revision, time);
    const lock = this.lockOf(command.map, command.key);
    const holder = lock.holder;
    if (holder && holder.session === command.session && holder.owner === command.owner) {
      lock.holder = { ...holder, count: command.reentrant ? holder.count + 1 : holder.count };
      return outcome(revision, true, { token: holder.token, queued: false, session: true });
    }
    if (!holder) {
      const token = this.nextToken(revision);
      lock.holder = { session: command.session, owner: command.owner, node: session.node, token, count: 1 };
      changes.push(event('set', command.map, command.key, lock.holder, undefined, revision));
      return outcome(revision, true, { token, queued: false, session: true });
    }
    const waiting = lock.waiters.some((w) => w.session === command.session && w.owner === command.owner);
    if (command.wait && !waiting) lock.waiters.push({ session: command.session, owner: command.owner });
    this.forgetIfIdle(command.map, command.key, lock);
    return outcome(revision, false, { token: null, queued: command.wait || waiting, session: true });
  }

  /** Release: one count down, and the lock to the next waiter at zero. Cancel: leave the queue only. */
  private release(
    command: Extract<LockCommand, { op: 'lock-release' | 'lock-cancel' }>,
    revision: number,
    time: number,
    changes: ChangeEvent[],
  ): CommandResult {
    const session = this.sessions.get(command.session);
    if (!session) return outcome(revision, false, { token: null, queued: false, session: false });
    this.touch(session, revision, time);
    const lock = this.locks.get(command.map)?.get(command.key);
    if (!lock) return outcome(revision, false, { token: null, queued: false, session: true });
    const at = lock.waiters.findIndex((w) => w.session === command.session && w.owner === command.owner);
    if (at >= 0) lock.waiters.splice(at, 1);
    const holder = lock.holder;
    const holds = holder !== null && holder.session === command.session && holder.owner === command.owner;
    if (!holds || command.op === 'lock-cancel') {
      this.forgetIfIdle(command.map, command.key, lock);
      const token = holds ? holder.token : null;
      return outcome(revision, at >= 0 || holds, { token, queued: false, session: true });
    }
    if (holder.count > 1) {
      lock.holder = { ...holder, count: holder.count - 1 };
      return outcome(revision, true, { token: holder.token, queued: false, session: true });
    }
    this.handOver(command.map, command.key, lock, revision, changes, 'delete');
    return outcome(revision, true, { token: null, queued: false, session: true });
  }

  private dropSessions(
    ids: Set<string>,
    revision: number,
    changes: ChangeEvent[],
    type: 'expire' | 'delete',
  ): void {
    for (const id of ids) {
      const node = this.sessions.get(id)!.node;
      this.sessions.delete(id);
      changes.push(event(type, LOCK_SESSION_SPACE, id, undefined, node, revision));
    }
    for (const [space, locks] of this.locks) {
      for (const [name, lock] of locks) {
        for (let i = lock.waiters.length - 1; i >= 0; i--) {
          if (ids.has(lock.waiters[i]!.session)) lock.waiters.splice(i, 1);
        }
        if (lock.holder && ids.has(lock.holder.session))
          this.handOver(space, name, lock, revision, changes, type);
        else this.forgetIfIdle(space, name, lock);
      }
    }
  }

  /** The lock goes to its first waiter (all waiters have live sessions), or is freed. */
  private handOver(
    space: string,
    name: string,
    lock: Lock,
    revision: number,
    changes: ChangeEvent[],
    freed: 'delete' | 'expire',
  ): void {
    const previous = lock.holder ?? undefined;
    const next = lock.waiters.shift();
    if (next) {
      const node = this.sessions.get(next.session)!.node;
      const token = this.nextToken(revision);
      lock.holder = { session: next.session, owner: next.owner, node, token, count: 1 };
      changes.push(event('set', space, name, lock.holder, previous, revision));
    } else {
      lock.holder = null;
      changes.push(event(freed, space, name, undefined, previous, revision));
      this.forgetIfIdle(space, name, lock);
    }
  }

  private nextToken(revision: number): number {
    this.lastToken = Math.max(revision, this.lastToken + 1);
    return this.lastToken;
  }

  private touch(session: Session, revision: number, time: number): void {
    session.renewedAt = time;
    session.renewedRevision = revision;
  }

  private lockOf(space: string, name: string): Lock {
    let locks = this.locks.get(space);
    if (!locks) {
      locks = new Map();
      this.locks.set(space, locks);
    }
    let lock = locks.get(name);
    if (!lock) {
      lock = { holder: null, waiters: [] };
      locks.set(name, lock);
    }
    return lock;
  }

  /** A free lock with no waiters takes no memory. */
  private forgetIfIdle(space: string, name: string, lock: Lock): void {
    if (lock.holder || lock.waiters.length > 0) return;
    const locks = this.locks.get(space)!;
    locks.delete(name);
    if (locks.size === 0) this.locks.delete(space);
  }

  export(): LockTableExport {
    return {
      lastToken: this.lastToken,
      sessions: [...this.sessions].map(([id, s]) => [id, s.node, s.ttlMs, s.renewedAt, s.renewedRevision]),
      locks: [...this.locks].flatMap(([space, locks]) =>
        [...locks].map(([name, lock]): LockTableExport['locks'][number] => [
          space,
          name,
          lock.holder,
          lock.waiters.map((w) => ({ ...w })),
        ]),
      ),
    };
  }

  static import(data: LockTableExport | undefined): LockTable {
    const table = new LockTable();
    if (!data) return table;
    table.lastToken = data.lastToken ?? 0;
    for (const [id, node, ttlMs, renewedAt, renewedRevision] of data.sessions) {
      table.sessions.set(id, { node, ttlMs, renewedAt, renewedRevision });
    }
    for (const [space, name, holder, waiters] of data.locks) {
      const lock = table.lockOf(space, name);
      lock.holder = holder;
      lock.waiters.push(...waiters);
    }
    return table;
  }
}

function outcome(revision: number, applied: boolean, value: LockOutcome): CommandResult {
  return { applied, revision, previous: undefined, value, version: 0 };
}

function sessionResult(live: boolean, revision: number): CommandResult {
  return { applied: live, revision, previous: undefined, value: live, version: 0 };
}

function event(
  type: ChangeEvent['type'],
  map: string,
  key: string,
  value: unknown,
  previous: unknown,
  revision: number,
): ChangeEvent {
  return { type, map, key, value, previous, revision };
}

/** Why `command` (an untrusted lock command from a peer) cannot be applied, or null when it can. */
export function lockCommandProblem(command: Record<string, unknown>): string | null {
  if (typeof command.key !== 'string') return 'the key is not a string';
  switch (command.op) {
    case 'lock-session':
      if (typeof command.node !== 'string') return 'the node is not a string';
      if (typeof command.ttlMs !== 'number' || !Number.isFinite(command.ttlMs) || command.ttlMs <= 0)
        return 'the session ttlMs is not a positive number';
      if (typeof command.open !== 'boolean') return 'open is not a boolean';
      return null;
    case 'lock-session-close':
      return null;
    case 'lock-acquire':
      if (typeof command.wait !== 'boolean' || typeof command.reentrant !== 'boolean')
        return 'wait or reentrant is not a boolean';
      return lockTargetProblem(command);
    case 'lock-release':
    case 'lock-cancel':
      return lockTargetProblem(command);
    default:
      return `unknown lock operation ${String(command.op)}`;
  }
}

function lockTargetProblem(command: Record<string, unknown>): string | null {
  if (typeof command.map !== 'string' || !LOCK_SPACES.includes(command.map)) return 'not a lock space';
  if (typeof command.session !== 'string' || typeof command.owner !== 'string')
    return 'the session or owner is not a string';
  return null;
}

export const LOCK_OPERATIONS: readonly string[] = [
  'lock-session',
  'lock-session-close',
  'lock-acquire',
  'lock-release',
  'lock-cancel',
];
