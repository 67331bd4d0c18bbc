import { createServer } from 'node:net';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  ImdgoModule,
  ImdgoOptionsError,
  ImdgoStore,
  InvalidArgumentError,
  NotReadyError,
  type ImdgoModuleOptions,
} from 'imdgo';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
// Internals, from source: the runtime is not part of the public entry.
import { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import { notReadyReason } from '../libs/imdgo/src/nest/readiness.ts';
import { TEST_TIMING } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

/** Two fresh members form a cluster only once both are up: until then neither can be ready. */
async function twoMembers(): Promise<[string, string]> {
  return [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
}

/** Resolves once `member`'s port on 127.0.0.1 can be bound again (it fails at once if it cannot). */
async function bindAndRelease(member: string): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(member.split(':')[1]), '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
}

const modules: TestingModule[] = [];

async function compile(
  members: readonly string[],
  nodeId: string,
  extra: Partial<ImdgoModuleOptions> = {},
): Promise<TestingModule> {
  const module = await Test.createTestingModule({
    // One group's readiness (voter seat, its messages); partitioned-grid covers the grid's.
    imports: [
      ImdgoModule.forRoot({ members: [...members], nodeId, partitions: 1, ...TEST_TIMING, ...extra }),
    ],
  })
    .setLogger(testLogger())
    .compile();
  modules.push(module);
  return module;
}

/** Why the node is not ready (the health indicator's isReady condition), or null. */
async function notReady(module: TestingModule): Promise<string | null> {
  return notReadyReason(module.get(ImdgoRuntime).node, 1_000);
}

afterEach(async () => {
  await Promise.all(modules.splice(0).map((module) => module.close()));
});

describe('store.ready()', () => {
  it('fails with NotReadyError, naming what is missing, until the cluster can serve; then resolves', async () => {
    const [first, second] = await twoMembers();
    const a = await compile([first, second], first);
    await a.init();
    const store = a.get(ImdgoStore);

    const error = await store.ready({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotReadyError);
    expect(error).toMatchObject({ code: 'NOT_READY' });
    expect((error as Error).message).toMatch(
      new RegExp(`^imdgo node ${first} was not ready within 300 ms: not a voter`),
    );
    // Local reads answer at once from memory that holds nothing yet.
    expect(store.peek('k')).toBeUndefined();
    expect(await store.get('k', { consistency: 'local' })).toBeUndefined();

    const b = await compile([first, second], second);
    await b.init();
    await store.ready({ timeoutMs: 20_000 });
    expect(await notReady(a)).toBeNull();
    await b.get(ImdgoStore).set('k', 1);
    expect(await store.get('k')).toBe(1);
  });

  it('refuses a timeout that is not a positive integer', async () => {
    const [first, second] = await twoMembers();
    const a = await compile([first, second], first);
    await a.init();
    await expect(a.get(ImdgoStore).ready({ timeoutMs: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(a.get(ImdgoStore).ready({ timeoutMs: 1.5 })).rejects.toThrow(
      /timeoutMs must be a positive integer of milliseconds, got 1.5/,
    );
  });
});

describe('the waitForReady option', () => {
  it('holds bootstrap until the node has a voter seat, a leader and a ReadIndex round', async () => {
    const members = await twoMembers();
    const both = await Promise.all(
      members.map((id) => compile(members, id, { waitForReady: { timeoutMs: 20_000 } })),
    );
    await Promise.all(both.map((module) => module.init()));
    for (const module of both) {
      const node = module.get(ImdgoRuntime).node;
      expect(node.isSeatedVoter()).toBe(true);
      expect(node.localStatus().leader).not.toBeNull();
      expect(await notReady(module)).toBeNull();
    }
  });

  it('fails bootstrap with NotReadyError when the node is not ready in time, and frees the peer port', async () => {
    const [first, second] = await twoMembers();
    const a = await compile([first, second], first, { waitForReady: { timeoutMs: 300 } });
    await expect(a.init()).rejects.toThrow(
      new RegExp(`imdgo node ${first} was not ready within 300 ms: not a voter`),
    );
    // Nest runs no destroy hook after a failed bootstrap: the app never closes, so the node must stop itself.
    await bindAndRelease(first);
  });

  it('accepts true, and refuses anything but a boolean or { timeoutMs } with a positive integer', async () => {
    const [first, second] = await twoMembers();
    expect((await compile([first], first, { waitForReady: true })).get(ImdgoRuntime).options).toMatchObject({
      waitForReadyMs: 30_000,
    });
    for (const waitForReady of [{ timeoutMs: -1 }, 'yes', { timeout: 10 }]) {
      await expect(
        compile([first, second], first, { waitForReady } as unknown as ImdgoModuleOptions),
      ).rejects.toThrow(ImdgoOptionsError);
    }
    await expect(compile([first, second], first, { waitForReady: { timeoutMs: 0 } })).rejects.toThrow(
      /"waitForReady" \(value \{"timeoutMs":0\}\): must be true, false or \{ timeoutMs \}/,
    );
  });
});
