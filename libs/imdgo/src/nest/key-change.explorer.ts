import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { filter, type Subscription } from 'rxjs';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { keyChangeFilter } from './key-change-filter.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';
import { ImdgoOptionsError } from './imdgo-options.ts';
import { ON_KEY_CHANGE_METADATA, type OnKeyChangeOptions } from './on-key-change.decorator.ts';

type Handler = (change: ChangeEvent) => unknown;

/**
 * Finds `@OnKeyChange` methods on every provider and controller (as @nestjs/event-emitter does: method-only
 * metadata is invisible to `getProviders({ metadataKey })`, so all are scanned) and subscribes them. A
 * request-scoped host has no instance to call between requests: it fails startup, naming the handler.
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

  async onApplicationBootstrap(): Promise<void> {
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    const requestScoped = wrappers
      .filter((wrapper) => !wrapper.isDependencyTreeStatic())
      .flatMap((wrapper) =>
        this.handlersOf(wrapper.metatype?.prototype).map(([method]) => `${wrapper.name}.${method}`),
      );
    if (requestScoped.length > 0) {
      // Nest does not run destroy hooks for a failed bootstrap: the node started, so stop it here.
      await this.runtime.onModuleDestroy();
      throw new ImdgoOptionsError(
        `@OnKeyChange cannot call ${requestScoped.join(', ')}: the class is request-scoped (or depends ` +
          `on a request-scoped provider), so no instance of it outlives a request to receive changes; ` +
          `put the handler on a singleton (default-scoped) provider or controller`,
      );
    }
    for (const wrapper of wrappers) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const [method, handler, options] of this.handlersOf(Object.getPrototypeOf(instance))) {
        this.subscribe(instance, method, handler, options);
      }
    }
  }

  /** The `@OnKeyChange` methods of a class, by name. */
  private handlersOf(prototype: unknown): [string, Handler, OnKeyChangeOptions][] {
    if (!prototype || typeof prototype !== 'object') return [];
    const found: [string, Handler, OnKeyChangeOptions][] = [];
    for (const method of this.scanner.getAllMethodNames(prototype)) {
      const handler = (prototype as Record<string, unknown>)[method];
      if (typeof handler !== 'function') continue;
      const options = this.reflector.get<OnKeyChangeOptions | undefined>(ON_KEY_CHANGE_METADATA, handler);
      if (options) found.push([method, handler as Handler, options]);
    }
    return found;
  }

  onModuleDestroy(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
  }

  private subscribe(instance: object, method: string, handler: Handler, options: OnKeyChangeOptions): void {
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
