import { ConsoleLogger, type LoggerService, type ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ImdgoCluster } from '../src/nest/imdgo-cluster.ts';
import type { ImdgoModuleOptions } from '../src/nest/imdgo-options.ts';
import { ImdgoStore } from '../src/nest/imdgo-store.ts';
import { ImdgoModule } from '../src/nest/imdgo.module.ts';
import { freePort } from './free-port.ts';

/** Fast timers for tests: a 20 ms tick gives 200-400 ms elections. */
export const IMDGO_TEST_TIMING = {
  tickMs: 20,
  electionTicks: 10,
  heartbeatTicks: 1,
  requestTimeoutMs: 5_000,
} as const;

export interface ImdgoTestNode {
  /** Its member id, `127.0.0.1:<port>`. */
  readonly id: string;
  /** The node's Nest testing module: `node.module.get(UsersService)`. */
  readonly module: TestingModule;
  readonly store: ImdgoStore;
  readonly cluster: ImdgoCluster;
}

export interface ImdgoTestCluster {
  readonly nodes: readonly ImdgoTestNode[];
  /** The node that leads now (waits for an election if there is no leader). */
  leader(): Promise<ImdgoTestNode>;
  /** Closes every node's module (idempotent). */
  close(): Promise<void>;
}

export interface ImdgoTestClusterOptions extends ModuleMetadata {
  /** Merged over the defaults (127.0.0.1 members on free ports, IMDGO_TEST_TIMING) on every node. */
  imdgo?: Partial<ImdgoModuleOptions>;
  /** Default: Nest's console logger at `error` and `warn` only. */
  logger?: LoggerService;
  /** How long the cluster may take to form before this fails. Default 15 s. */
  timeoutMs?: number;
}

/**
 * Starts `size` nodes inside this process, each a Nest testing module (with `metadata`'s imports,
 * providers and controllers) on its own loopback port, and resolves once every node sees all `size`
 * voters and a leader.
 */
export async function startImdgoCluster(
  size: number,
  options: ImdgoTestClusterOptions = {},
): Promise<ImdgoTestCluster> {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`startImdgoCluster: size must be a positive integer, got ${size}`);
  }
  for (let attempt = 1; ; attempt++) {
    const members = await Promise.all(
      Array.from({ length: size }, async () => `127.0.0.1:${await freePort()}`),
    );
    try {
      return await startOn(members, options);
    } catch (error) {
      // A port free a moment ago can be taken before the node listens (another process's outgoing
      // connection, in a parallel test run): new ports, not a failed test.
      const taken = (error as { code?: unknown }).code === 'PEER_LISTEN_FAILED';
      if (!taken || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

/** Cluster starts tried on fresh ports when one of them was taken meanwhile. */
const PORT_ATTEMPTS = 3;

async function startOn(
  members: string[],
  { imdgo = {}, logger, timeoutMs = 15_000, ...metadata }: ImdgoTestClusterOptions,
): Promise<ImdgoTestCluster> {
  const size = members.length;
  const nodes: ImdgoTestNode[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(nodes.map((node) => node.module.close()));
  };
  try {
    for (const id of members) {
      const builder = Test.createTestingModule({
        ...metadata,
        imports: [
          ImdgoModule.forRoot({ members, nodeId: id, ...IMDGO_TEST_TIMING, ...imdgo }),
          ...(metadata.imports ?? []),
        ],
      });
      builder.setLogger(logger ?? new ConsoleLogger({ logLevels: ['error', 'warn'] }));
      const module = await builder.compile();
      await module.init();
      nodes.push({ id, module, store: module.get(ImdgoStore), cluster: module.get(ImdgoCluster) });
    }
    await until(() => nodes.every((node) => formed(node, size)), `${size} voters and a leader`, timeoutMs);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    nodes,
    leader: () =>
      until(() => nodes.find((node) => node.cluster.localStatus().role === 'leader'), 'a leader', timeoutMs),
    close,
  };
}

function formed(node: ImdgoTestNode, size: number): boolean {
  const status = node.cluster.localStatus();
  return status.leader !== null && status.members.filter((member) => member.voter).length === size;
}

/** Polls `probe` every 10 ms until it returns a value (not undefined/false), or fails after `timeoutMs`. */
async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`startImdgoCluster: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
