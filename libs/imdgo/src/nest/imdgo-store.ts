import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { DEFAULT_MAP } from '../state-machine/commands.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { ImdgoMap } from './imdgo-map.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';
import { DEFAULT_READY_TIMEOUT_MS, waitUntilReady } from './readiness.ts';

/**
 * The replicated store, injected anywhere in the app. Itself the default map; `map(name)` gives typed views
 * of other key spaces. `changes$` carries the changes of every map.
 */
@Injectable()
export class ImdgoStore extends ImdgoMap<unknown> implements OnApplicationBootstrap {
  private readonly maps = new Map<string, ImdgoMap<unknown>>();
  private readonly logger = new Logger('imdgo');

  constructor(runtime: ImdgoRuntime) {
    super(runtime, DEFAULT_MAP);
  }

  /**
   * Resolves once this node can serve linearizable reads and writes: it holds a voter seat, a leader is
   * known and a ReadIndex round succeeds (what the health indicator's `isReady` reports as up). Fails with
   * NotReadyError, naming what is missing, after `timeoutMs` (default 30 s).
   */
  ready(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    return waitUntilReady(() => this.runtime.node, timeoutMs, this.runtime.options.tickMs);
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
    let map = this.maps.get(name);
    if (!map) {
      map = new ImdgoMap<unknown>(this.runtime, name);
      this.maps.set(name, map);
    }
    return map as ImdgoMap<V>;
  }

  /** Changes of every map (the default map's are `map: ''`). */
  override get changes$(): Observable<ChangeEvent> {
    return this.runtime.changes$;
  }
}
