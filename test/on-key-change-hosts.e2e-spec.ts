import 'reflect-metadata';
import { createServer } from 'node:net';
import { Controller, Inject, Injectable, Scope, type Type } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ImdgoModule, ImdgoOptionsError, OnKeyChange, type ChangeEvent } from 'imdgo';
import { describe, expect, it } from 'vitest';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { startCluster, TEST_TIMING, waitFor } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

@Controller('users')
class UsersController {
  readonly seen: string[] = [];

  @OnKeyChange('user:*')
  onUser(change: ChangeEvent): void {
    this.seen.push(change.key);
  }
}

@Injectable()
class UsersListener {
  readonly seen: string[] = [];

  @OnKeyChange('user:*')
  onUser(change: ChangeEvent): void {
    this.seen.push(change.key);
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedListener {
  @OnKeyChange('user:*')
  onUser(): void {}
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientListener {
  @OnKeyChange('user:*')
  onUser(): void {}
}

/** Gives the transient listener a consumer, as any use of it does. */
@Injectable()
class UsesTransientListener {
  constructor(@Inject(TransientListener) readonly listener: TransientListener) {}
}

/** Request-scoped without saying so: it depends on the request. */
@Controller('implicit')
class ImplicitlyRequestScopedController {
  constructor(@Inject(REQUEST) readonly request: unknown) {}

  @OnKeyChange()
  onAnything(): void {}
}

/** Resolves once `port` on 127.0.0.1 can be bound again (it fails at once if it cannot). */
async function bindAndRelease(port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
}

describe('@OnKeyChange hosts', () => {
  it('calls a handler on a controller', async () => {
    const cluster = await startCluster(1, {}, { controllers: [UsersController] });
    try {
      const [node] = cluster.nodes;
      await cluster.leader();
      await node!.store.set('user:1', 'Ada');
      await node!.store.set('order:1', 'ignored');
      await node!.store.set('user:2', 'Grace');
      const controller = node!.module.get(UsersController);
      await waitFor(() => controller.seen.length === 2, 'two user changes');
      expect(controller.seen).toEqual(['user:1', 'user:2']);
    } finally {
      await cluster.closeAll();
    }
  });

  it('calls a handler once when its provider also has an alias (useExisting)', async () => {
    const cluster = await startCluster(
      1,
      {},
      { providers: [UsersListener, { provide: 'USERS', useExisting: UsersListener }] },
    );
    try {
      const [node] = cluster.nodes;
      await cluster.leader();
      await node!.store.set('user:1', 'Ada');
      await node!.store.set('user:2', 'Grace');
      const listener = node!.module.get(UsersListener);
      await waitFor(() => listener.seen.includes('user:2'), 'the second user change');
      expect(listener.seen).toEqual(['user:1', 'user:2']);
    } finally {
      await cluster.closeAll();
    }
  });

  it.each([
    ['a request-scoped provider', { providers: [RequestScopedListener] }, 'RequestScopedListener.onUser'],
    [
      'a controller that depends on the request',
      { controllers: [ImplicitlyRequestScopedController] },
      'ImplicitlyRequestScopedController.onAnything',
    ],
  ] as [string, { providers?: Type[]; controllers?: Type[] }, string][])(
    'fails startup on %s, naming the handler, and frees the peer port',
    async (_what, metadata, handler) => {
      const port = await freePort();
      const member = `127.0.0.1:${port}`;
      const module = await Test.createTestingModule({
        imports: [ImdgoModule.forRoot({ members: [member], nodeId: member, ...TEST_TIMING })],
        ...metadata,
      })
        .setLogger(testLogger())
        .compile();
      const failure = module.init();
      await expect(failure).rejects.toBeInstanceOf(ImdgoOptionsError);
      await expect(failure).rejects.toThrow(
        `@OnKeyChange cannot call ${handler}: the class is request-scoped`,
      );
      await bindAndRelease(port);
    },
  );

  it('fails startup on a transient provider, naming the handler, and frees the peer port', async () => {
    const port = await freePort();
    const member = `127.0.0.1:${port}`;
    const module = await Test.createTestingModule({
      imports: [ImdgoModule.forRoot({ members: [member], nodeId: member, ...TEST_TIMING })],
      providers: [TransientListener, UsesTransientListener],
    })
      .setLogger(testLogger())
      .compile();
    const failure = module.init();
    await expect(failure).rejects.toBeInstanceOf(ImdgoOptionsError);
    await expect(failure).rejects.toThrow(
      '@OnKeyChange cannot call TransientListener.onUser: the class is transient',
    );
    await bindAndRelease(port);
  });

  it('fails startup on a request-scoped host at once, not after waitForReady has waited', async () => {
    // Two members, one started: this node never becomes ready, so a wait would end in NotReadyError.
    const [self, absent] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const module = await Test.createTestingModule({
      imports: [
        ImdgoModule.forRoot({
          members: [self, absent],
          nodeId: self,
          ...TEST_TIMING,
          waitForReady: { timeoutMs: 10_000 },
        }),
      ],
      providers: [RequestScopedListener],
    })
      .setLogger(testLogger())
      .compile();
    await expect(module.init()).rejects.toThrow(
      '@OnKeyChange cannot call RequestScopedListener.onUser: the class is request-scoped',
    );
  });
});
