import { concat, defer, distinctUntilChanged, filter, map, of, type Observable } from 'rxjs';
import { ELECTION_SPACE } from '../state-machine/lock-table.ts';
import { ImdgoLock } from './imdgo-lock.ts';
import type { ImdgoLockSessions } from './imdgo-lock-sessions.ts';

/** The leader of an election: the node that holds it, and the fencing token of its term. */
export interface ElectionLeader {
  readonly leaderId: string;
  readonly token: number;
}

/**
 * Leader election (etcd's concurrency.Election) on a lock of its own kind: `campaign()` queues this object
 * until it leads, `resign()` hands leadership to the next candidate. At most one leader at a time: a leader
 * whose node stops renewing its lock session loses leadership on every node when the session expires, and
 * the next leader's token is higher. The candidate is this object; campaigning again while leading is a no-op.
 */
export class ImdgoElection {
  readonly name: string;
  private readonly lock: ImdgoLock;
  private readonly sessions: ImdgoLockSessions;

  constructor(sessions: ImdgoLockSessions, name: string) {
    this.sessions = sessions;
    this.name = name;
    this.lock = new ImdgoLock(sessions, name, ELECTION_SPACE, false);
  }

  /** Waits until this candidate leads; resolves to its token, or to null if it resigned while waiting. */
  campaign(): Promise<number | null> {
    return this.lock.acquire(Number.POSITIVE_INFINITY);
  }

  /** Stops leading (the next candidate leads) or stops waiting to. */
  resign(): Promise<void> {
    return this.lock.abandon();
  }

  /** Whether this candidate leads and its session's lease holds by this node's clock. */
  isLeader(): boolean {
    return this.lock.isHeld();
  }

  /** The leader as this node has applied it (null: none). */
  leader(): ElectionLeader | null {
    const holder = this.sessions.runtime.coordination.machine.locks.holder(ELECTION_SPACE, this.name);
    return holder && { leaderId: holder.node, token: holder.token };
  }

  /** The current leader, then each change of it, as this node applies them. */
  get leader$(): Observable<ElectionLeader | null> {
    const runtime = this.sessions.runtime;
    return defer(() =>
      concat(
        of(null),
        runtime.coordinationChanges$.pipe(
          filter((c) => c.type === 'reset' || (c.map === ELECTION_SPACE && c.key === this.name)),
        ),
      ),
    ).pipe(
      map(() => this.leader()),
      distinctUntilChanged((a, b) => a?.token === b?.token),
    );
  }
}
