import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { filter, type Subscription } from 'rxjs';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { keyChangeFilter } from './key-change-filter.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';
import { ON_KEY_CHANGE_METADATA, type OnKeyChangeOptions } from './on-key-change.decorator.ts';

/**
 * Finds `@OnKeyChange` methods on every provider (as @nestjs/event-emitter does: method-only metadata is
 * invisible to `getProviders({ metadataKey })`, so all providers are scanned) and subscribes them.
 */
@Injectable()
export class KeyChangeExplorer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('imdgo OnKeyChange');
  private readonly subscriptions: Subscription[] = [];
  private readonly discovery: DiscoveryService;
  private readonly scanner: MetadataScanner;
  private readonly reflector: Reflector;
  private readonly runtime: ImdgoRuntime;

  constructor(
    discovery: DiscoveryService,
    scanner: MetadataScanner,
    reflector: Reflector,
    runtime: ImdgoRuntime,
  ) {
    this.discovery = discovery;
    this.scanner = scanner;
    this.reflector = reflector;
    this.runtime = runtime;
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
        const options = this.reflector.get<OnKeyChangeOptions | undefined>(ON_KEY_CHANGE_METADATA, handler);
        if (options) this.subscribe(instance, method, handler as (change: ChangeEvent) => unknown, options);
      }
    }
  }

  onModuleDestroy(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
  }

  private subscribe(
    instance: object,
    method: string,
    handler: (change: ChangeEvent) => unknown,
    options: OnKeyChangeOptions,
  ): void {
    const name = `${instance.constructor.name}.${method}`;
    const subscription = this.runtime.changes$.pipe(filter(keyChangeFilter(options))).subscribe((change) => {
      try {
        const returned = handler.call(instance, change);
        if (returned instanceof Promise) returned.catch((error: unknown) => this.report(name, error));
      } catch (error) {
        this.report(name, error);
      }
    });
    this.subscriptions.push(subscription);
  }

  private report(handler: string, error: unknown): void {
    this.logger.error(
      `${handler} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
}
