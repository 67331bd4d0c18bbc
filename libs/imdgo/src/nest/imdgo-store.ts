import { Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { DEFAULT_MAP } from '../state-machine/commands.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { ImdgoMap } from './imdgo-map.ts';
import { ownChanges } from './own-values.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';
import { DEFAULT_READY_TIMEOUT_MS, waitUntilReady } from './readiness.ts';
import { ImdgoLock } from './imdgo-lock.ts';
import { ImdgoLockSessions } from './imdgo-lock-sessions.ts';
import { ImdgoElection } from './imdgo-election.ts';
import { InvalidArgumentError } from '../errors.ts';
import { ELECTION_SPACE, LOCK_SPACE } from '../state-machine/lock-table.ts';

/** A held lock or election: the node whose session holds it, and its fencing token. */
export interface HeldLock {
  readonly kind: 'lock' | 'election';
  readonly name: string;
  readonly node: string;
  readonly token: number;
}

/**
 * The replicated store, injected anywhere in the app. Itself the default map; `map(name)` gives typed views
 * of other key spaces. `changes$` carries the changes of every map.
 */
@Injectable()
export class ImdgoStore extends ImdgoMap<unknown> implements OnApplicationBootstrap {
  private readonly maps = new Map<string, ImdgoMap<unknown>>();
  private readonly logger = new Logger('imdgo');

  private readonly lockSessions: ImdgoLockSessions;

  constructor(runtime: ImdgoRuntime, @Optional() lockSessions?: ImdgoLockSessions) {
    super(runtime, DEFAULT_MAP);
    this.lockSessions = lockSessions ?? new ImdgoLockSessions(runtime);
  }

  /** A new lock object for `name` (the owner is the object: see ImdgoLock). */
  lock(name: string): ImdgoLock {
    return new ImdgoLock(this.lockSessions, name);
  }

  /** A new candidate in the election `name`. */
  election(name: string): ImdgoElection {
    return new ImdgoElection(this.lockSessions, name);
  }

  /** Held locks and elections as this node has applied them (for dashboards; no consistency guarantee). */
  lockHolders(): HeldLock[] {
    const table = this.runtime.coordination.machine.locks;
    const held = (kind: HeldLock['kind'], space: string): HeldLock[] =>
      table.holders(space).map(([name, { node, token }]) => ({ kind, name, node, token }));
    return [...held('lock', LOCK_SPACE), ...held('election', ELECTION_SPACE)];
  }

  /**
   * Resolves once this node can serve linearizable reads and writes: it holds a voter seat, a leader is
   * known and a ReadIndex round succeeds (what the health indicator's `isReady` reports as up). Fails with
   * NotReadyError, naming what is missing, after `timeoutMs` (default 30 s).
   */
  ready(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    return waitUntilReady(
      () => this.runtime.node,
      timeoutMs,
      this.runtime.options.tickMs,
      () => this.runtime.grid,
    );
  }

  /** With the `waitForReady` option, holds the application's bootstrap until this node is ready. */
  async onApplicationBootstrap(): Promise<void> {
    const timeoutMs = this.runtime.options.waitForReadyMs;
    if (timeoutMs === null) return;
    this.logger.log(`${this.runtime.node.id}: waiting up to ${timeoutMs} ms until ready`);
    try {
      await this.ready({ timeoutMs });
    } catch (error) {
      // Nest runs no destroy hook for a failed bootstrap: the node started, so stop it here (frees its port).
      await this.runtime.onModuleDestroy();
      throw error;
    }
    this.logger.log(`${this.runtime.node.id}: ready`);
  }

  map<V = unknown>(name: string): ImdgoMap<V> {
    // Lock and election change events carry these map names.
    if (name.startsWith('imdgo:')) throw new InvalidArgumentError(`map names starting "imdgo:" are reserved`);
    let map = this.maps.get(name);
    if (!map) {
      map = new ImdgoMap<unknown>(this.runtime, name);
      this.maps.set(name, map);
    }
    return map as ImdgoMap<V>;
  }

  /** Changes of every map (the default map's are `map: ''`). */
  override get changes$(): Observable<ChangeEvent> {
    return this.runtime.changes$.pipe(ownChanges());
  }
}
