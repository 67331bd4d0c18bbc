import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { filter, Subject, type Observable, type Subscription } from 'rxjs';
import { LockSessionEndedError, StoppedError } from '../errors.ts';
import type { CommandResult, KvCommand } from '../state-machine/commands.ts';
import { LOCK_SESSION_SPACE } from '../state-machine/lock-table.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';

interface Session {
  readonly id: string;
  opened: Promise<void>;
  /** By this node's monotonic clock: until when the session certainly lives (see `holdsLease`). */
  validUntil: number;
}

/**
 * This node's lock session: opened at the first lock use, renewed through the log every third of
 * `lockSessionTtlMs` (and by every lock command), and ended by the log when it was not renewed for that TTL.
 * Everything the session held is then released on every node at that one entry; this node opens a new
 * session for its next lock use, so a lock it had is never silently re-held.
 */
@Injectable()
export class ImdgoLockSessions implements OnModuleDestroy {
  private readonly logger = new Logger('imdgo locks');
  private current: Session | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly endedSubject = new Subject<string>();
  private watch: Subscription | null = null;
  private closed = false;

  constructor(readonly runtime: ImdgoRuntime) {}

  get ttlMs(): number {
    return this.runtime.options.lockSessionTtlMs;
  }

  /** Ids of this node's sessions as they end (expired, closed or found gone). */
  get ended$(): Observable<string> {
    return this.endedSubject.asObservable();
  }

  /** This node's live session, opened if there is none. */
  async session(): Promise<string> {
    if (this.closed) throw new StoppedError();
    if (!this.current) this.current = this.open();
    const session = this.current;
    await session.opened;
    return session.id;
  }

  /**
   * Whether `id` is this node's session and was renewed recently enough that the log cannot have expired
   * it yet: the renewal sent at t was stamped after t, so it lives until TTL of log time (which follows the
   * leader's clock) after that; a fifth of the TTL is kept back for the leader's clock being ahead of this
   * node's. A leader clock that jumps further ahead expires sessions early: the fencing token still holds.
   */
  holdsLease(id: string): boolean {
    const session = this.current;
    return session !== null && session.id === id && performance.now() < session.validUntil;
  }

  /**
   * Writes a lock command of this node's session, resolving once this node has applied it (a forwarded
   * write's answer can come before), so what it reads of the lock table afterwards includes the command.
   * A result saying the session is gone ends the session here.
   */
  async write(command: KvCommand, session: string): Promise<CommandResult> {
    // The monotonic clock: a step of this node's wall clock must not stretch its lease.
    const sent = performance.now();
    const node = this.runtime.coordination;
    const result = await node.write(command);
    if (node.machine.appliedIndex < result.revision) await node.linearizableBarrier();
    const outcome = result.value as { session?: boolean } | boolean;
    if (outcome === false || (typeof outcome === 'object' && outcome?.session === false)) this.end(session);
    else this.renewed(session, sent);
    return result;
  }

  private open(): Session {
    const id = randomUUID();
    const node = this.runtime.coordination.id;
    const command: KvCommand = { op: 'lock-session', key: id, node, ttlMs: this.ttlMs, open: true };
    const session: Session = { id, validUntil: 0, opened: Promise.resolve() };
    session.opened = this.write(command, id).then(() => {
      if (this.current !== session) throw new LockSessionEndedError('it opened');
    });
    session.opened.catch(() => {
      if (this.current === session) this.current = null;
    });
    this.startRenewing();
    return session;
  }

  private startRenewing(): void {
    if (!this.watch) {
      // The log may end the session without this node asking (it paused longer than the TTL).
      this.watch = this.runtime.coordinationChanges$
        .pipe(filter((c) => c.map === LOCK_SESSION_SPACE && c.type !== 'set'))
        .subscribe((change) => this.end(change.key));
    }
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const session = this.current;
    if (!session) return;
    try {
      await session.opened;
      const node = this.runtime.coordination.id;
      const command: KvCommand = {
        op: 'lock-session',
        key: session.id,
        node,
        ttlMs: this.ttlMs,
        open: false,
      };
      await this.write(command, session.id);
    } catch (error) {
      // The next renewal tries again; if none succeeds within the TTL, the log ends the session.
      if (!(error instanceof StoppedError)) this.logger.warn(`lock session renewal failed: ${String(error)}`);
    }
  }

  private renewed(id: string, sent: number): void {
    const session = this.current;
    if (session?.id !== id) return;
    session.validUntil = Math.max(session.validUntil, sent + this.ttlMs - this.ttlMs / 5);
  }

  private end(id: string): void {
    if (this.current?.id !== id) return;
    this.current = null;
    this.endedSubject.next(id);
  }

  /** Closes the session, releasing what it holds at once rather than after the TTL (best effort). */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watch?.unsubscribe();
    const session = this.current;
    this.current = null;
    if (session) {
      this.endedSubject.next(session.id);
      try {
        await this.runtime.coordination.write({ op: 'lock-session-close', key: session.id });
      } catch {
        // Stopped or cut off: the session then ends by its TTL.
      }
    }
    this.endedSubject.complete();
  }
}
