import 'reflect-metadata';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Injectable,
  type LoggerService,
  type ModuleMetadata,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  ImdgoError,
  ImdgoModule,
  ImdgoOptionsError,
  ImdgoStore,
  PeerListenError,
  type ImdgoModuleOptions,
} from 'imdgo';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { TEST_TIMING, waitFor } from './support/cluster.ts';

/** Keeps the warnings and debug messages, drops the rest. */
class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  readonly debugs: string[] = [];
  log(): void {}
  error(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  debug(message: unknown): void {
    this.debugs.push(String(message));
  }
}

const modules: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(modules.splice(0).map((module) => module.close()));
});

async function compile(metadata: ModuleMetadata, logger: LoggerService = new RecordingLogger()) {
  const module = await Test.createTestingModule(metadata).setLogger(logger).compile();
  modules.push(module);
  return module;
}

const loopback = async () => `127.0.0.1:${await freePort()}`;
const forRoot = (member: string, options: Partial<ImdgoModuleOptions> = {}) =>
  ImdgoModule.forRoot({ members: [member], nodeId: member, ...TEST_TIMING, ...options });

/** Resolves once `port` on 127.0.0.1 can be bound (it fails at once if it cannot). */
async function hold(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}
/** This process's open files inside `dir` (Linux: /proc/self/fd). */
async function openFilesUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(dir));
}
const release = (server: Server) => new Promise((resolve) => server.close(resolve));
const portOf = (member: string) => Number(member.split(':')[1]);

@Injectable()
class FailsToBootstrap implements OnApplicationBootstrap {
  onApplicationBootstrap(): void {
    throw new Error('a later bootstrap step failed');
  }
}

describe('startup errors', () => {
  it('refuses ImdgoModule.forRoot imported twice in one app, before either node listens', async () => {
    const [a, b] = [await loopback(), await loopback()];
    for (const members of [
      [a, b],
      [a, a],
    ]) {
      const module = await compile({ imports: members.map((member) => forRoot(member)) });
      const init = module.init();
      await expect(init).rejects.toBeInstanceOf(ImdgoOptionsError);
      await expect(init).rejects.toThrow('ImdgoModule.forRoot (or forRootAsync) is imported 2 times');
      for (const member of new Set(members)) await release(await hold(portOf(member)));
    }
  });

  it('turns a forRootAsync factory that returns undefined into an ImdgoOptionsError', async () => {
    const compiling = compile({
      imports: [ImdgoModule.forRootAsync({ useFactory: () => undefined as unknown as ImdgoModuleOptions })],
    });
    await expect(compiling).rejects.toBeInstanceOf(ImdgoOptionsError);
    await expect(compiling).rejects.toThrow('a forRootAsync useFactory must return the options object');
  });

  it('makes ImdgoOptionsError an ImdgoError with a code', () => {
    const error = new ImdgoOptionsError('invalid imdgo options: x');
    expect(error).toBeInstanceOf(ImdgoError);
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', name: 'ImdgoOptionsError' });
  });

  it('names the peer port when it is taken, and releases the data directory it opened', async () => {
    const member = await loopback();
    const taken = await hold(portOf(member));
    const dataDir = await mkdtemp(join(tmpdir(), 'imdgo-startup-'));
    try {
      const init = (await compile({ imports: [forRoot(member, { dataDir })] })).init();
      await expect(init).rejects.toBeInstanceOf(PeerListenError);
      await expect(init).rejects.toThrow(
        `imdgo cannot listen on ${member} (the host of this node's id ${member}): peer port ${portOf(member)} is already in use`,
      );
      expect(await openFilesUnder(dataDir)).toEqual([]);
    } finally {
      await release(taken);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('names bindHost when it is not an address of this machine', async () => {
    const member = await loopback();
    const init = (await compile({ imports: [forRoot(member, { bindHost: '192.0.2.1' })] })).init();
    await expect(init).rejects.toThrow(
      `(bindHost "192.0.2.1"): 192.0.2.1 is not an address of this machine: set bindHost`,
    );
  });

  it('warns of a nodeId missing from members, and names members that stay unreachable', async () => {
    const [self, dead, alsoDead] = [await loopback(), await loopback(), await loopback()];
    const logger = new RecordingLogger();
    await (
      await compile(
        // A node outside members joins by discovery: one group only (a partitioned grid refuses it).
        {
          imports: [
            ImdgoModule.forRoot({ members: [dead, alsoDead], nodeId: self, partitions: 1, ...TEST_TIMING }),
          ],
        },
        logger,
      )
    ).init();
    expect(logger.warnings).toContainEqual(
      expect.stringContaining(`nodeId ${self} is not among members (${dead}, ${alsoDead})`),
    );
    // 20 election timeouts of 200 ms, then a probe of at most 400 ms.
    const warning = await waitFor(
      () => logger.warnings.find((w) => w.includes('cannot reach')),
      'the unreachable-members warning',
      20_000,
    );
    expect(warning).toContain(`${self} cannot reach ${dead}, ${alsoDead}`);
  });

  it('does not warn of members that answer', async () => {
    const [a, b] = [await loopback(), await loopback()];
    // Nest's Logger is process-wide: the last logger set receives both nodes' messages.
    const logger = new RecordingLogger();
    const nodes = await Promise.all(
      [a, b].map(async (id) => {
        const module = await compile(
          { imports: [ImdgoModule.forRoot({ members: [a, b], nodeId: id, ...TEST_TIMING })] },
          logger,
        );
        await module.init();
        return module.get(ImdgoStore);
      }),
    );
    await nodes[0]!.set('k', 'v');
    await waitFor(
      () => [a, b].every((id) => logger.debugs.includes(`${id} reaches every member`)),
      'both checks to have run',
      20_000,
    );
    expect(logger.warnings.filter((w) => w.includes('cannot reach'))).toEqual([]);
  });

  it('after a later bootstrap step fails, close() frees the peer port for the next app', async () => {
    const member = await loopback();
    const failed = await compile({ imports: [forRoot(member)], providers: [FailsToBootstrap] });
    await expect(failed.init()).rejects.toThrow('a later bootstrap step failed');
    await failed.close();
    const next = await compile({ imports: [forRoot(member)] });
    await next.init();
    await next.get(ImdgoStore).set('k', 'v');
    expect(await next.get(ImdgoStore).get('k')).toBe('v');
  });
});
