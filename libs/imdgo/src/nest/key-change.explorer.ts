import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { filter, type Subscription } from 'rxjs';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { keyChangeFilter } from './key-change-filter.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';
import { ImdgoOptionsError } from './imdgo-options.ts';
import { ON_KEY_CHANGE_METADATA, type OnKeyChangeOptions } from './on-key-change.decorator.ts';
import { ownChange } from './own-values.ts';

type Handler = (change: ChangeEvent) => unknown;

/**
 * Finds `@OnKeyChange` methods on every provider and controller (as @nestjs/event-emitter does: method-only
 * metadata is invisible to `getProviders({ metadataKey })`, so all are scanned) and subscribes them. A
 * request-scoped or transient host has no single instance to call: it fails startup, naming the handler.
 */
@Injectable()
export class KeyChangeExplorer implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
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

  /** Before any bootstrap hook, so that `waitForReady` does not wait first and then hide this error. */
  async onModuleInit(): Promise<void> {
    const handlersOn = (wrappers: ReturnType<KeyChangeExplorer['wrappers']>) =>
      wrappers.flatMap((wrapper) =>
        this.handlersOf(wrapper.metatype?.prototype).map(([method]) => `${wrapper.name}.${method}`),
      );
    const wrappers = this.wrappers();
    const requestScoped = handlersOn(wrappers.filter((wrapper) => !wrapper.isDependencyTreeStatic()));
    // Nest builds a transient class once per consumer; the instance discovery sees was never constructed.
    const transient = handlersOn(
      wrappers.filter((wrapper) => wrapper.isDependencyTreeStatic() && wrapper.isTransient),
    );
    const refusals = [
      ...(requestScoped.length > 0
        ? [
            `@OnKeyChange cannot call ${requestScoped.join(', ')}: the class is request-scoped (or depends ` +
              `on a request-scoped provider), so no instance of it outlives a request to receive changes`,
          ]
        : []),
      ...(transient.length > 0
        ? [
            `@OnKeyChange cannot call ${transient.join(', ')}: the class is transient, so each consumer ` +
              `has its own instance and none of them is the one to receive changes`,
          ]
        : []),
    ];
    if (refusals.length > 0) {
      // Nest runs no destroy hook for a failed startup: the node started, so stop it here.
      await this.runtime.onModuleDestroy();
      throw new ImdgoOptionsError(
        `${refusals.join('; ')}; put the handler on a singleton (default-scoped) provider or controller`,
      );
    }
  }

  onApplicationBootstrap(): void {
    for (const wrapper of this.wrappers()) {
      // A `useExisting` alias holds the same instance as the provider it names: one subscription is enough.
      if (wrapper.isAlias) continue;
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const [method, handler, options] of this.handlersOf(Object.getPrototypeOf(instance))) {
        this.subscribe(instance, method, handler, options);
      }
    }
  }

  private wrappers() {
    return [...this.discovery.getProviders(), ...this.discovery.getControllers()];
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
        // Each handler gets an event of its own (own-values.ts).
        const returned = handler.call(instance, ownChange(change));
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
