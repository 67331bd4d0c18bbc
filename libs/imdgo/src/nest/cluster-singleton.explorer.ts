import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { filter, firstValueFrom } from 'rxjs';
import { CLUSTER_SINGLETON, guardSingleton } from './cluster-singleton.decorator.ts';
import { ImdgoElection } from './imdgo-election.ts';
import { ImdgoLockSessions } from './imdgo-lock-sessions.ts';

/**
 * Finds `@ClusterSingleton(name)` methods on every provider, campaigns for each name's election from this
 * node for as long as the application runs, and lets the methods run only while this node leads.
 */
@Injectable()
export class ClusterSingletonExplorer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('imdgo ClusterSingleton');
  private readonly elections = new Map<string, ImdgoElection>();
  private stopped = false;
  private readonly discovery: DiscoveryService;
  private readonly scanner: MetadataScanner;
  private readonly reflector: Reflector;
  private readonly sessions: ImdgoLockSessions;

  constructor(
    discovery: DiscoveryService,
    scanner: MetadataScanner,
    reflector: Reflector,
    sessions: ImdgoLockSessions,
  ) {
    this.discovery = discovery;
    this.scanner = scanner;
    this.reflector = reflector;
    this.sessions = sessions;
  }

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = instance[method];
        if (typeof handler !== 'function') continue;
        const name = this.reflector.get<string | undefined>(CLUSTER_SINGLETON, handler);
        if (name === undefined) continue;
        let election = this.elections.get(name);
        if (!election) {
          election = new ImdgoElection(this.sessions, name);
          this.elections.set(name, election);
          void this.keepCampaigning(election);
        }
        const leads = election;
        guardSingleton(instance, name, () => !this.stopped && leads.isLeader());
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.elections.values()].map((election) => election.resign()));
  }

  /** Leads whenever it can: after losing leadership (its session ended), it queues again. */
  private async keepCampaigning(election: ImdgoElection): Promise<void> {
    while (!this.stopped) {
      try {
        const token = await election.campaign();
        if (token === null) return;
        this.logger.log(`leads "${election.name}" with token ${token}`);
        await firstValueFrom(election.leader$.pipe(filter((leader) => leader?.token !== token)));
      } catch (error) {
        if (this.stopped) return;
        this.logger.warn(`campaign for "${election.name}" failed, retrying: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, this.sessions.ttlMs / 3).unref());
      }
    }
  }
}
