import 'reflect-metadata';
import type { ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ImdgoCluster, ImdgoModule, ImdgoStore, type ImdgoModuleOptions } from 'imdgo';
import { ImdgoMetrics } from 'imdgo/metrics';
import { ImdgoHealthIndicator } from 'imdgo/terminus';
import { ImdgoRuntime } from '../../libs/imdgo/src/nest/imdgo-runtime.ts';
import { freePort, IMDGO_TEST_TIMING } from 'imdgo/testing';
import { testLogger } from './quiet-logs.ts';

export interface TestNode {
  readonly id: string;
  module: TestingModule;
  store: ImdgoStore;
  runtime: ImdgoRuntime;
  cluster: ImdgoCluster;
  closed: boolean;
}

export interface TestCluster {
  readonly nodes: TestNode[];
  /** The members every node was started with (nodes added later join these). */
  readonly members: readonly string[];
  leader(): Promise<TestNode>;
  followers(): Promise<TestNode[]>;
  close(node: TestNode): Promise<void>;
  /** Starts a closed node again on its port, with its options (and its data directory, if it has one). */
  restart(node: TestNode): Promise<void>;
  /** Starts one more node, which joins the cluster through discovery. */
  addNode(options?: Partial<ImdgoModuleOptions>): Promise<TestNode>;
  closeAll(): Promise<void>;
}

/** Fast timers for tests: a 20 ms tick gives 200-400 ms elections. */
export const TEST_TIMING = IMDGO_TEST_TIMING;

/** Starts `size` nodes in this process, each a Nest testing module on its own loopback port. */
export async function startCluster(
  size: number,
  options: Partial<ImdgoModuleOptions> = {},
  metadata: ModuleMetadata = {},
  perNode: (index: number) => Partial<ImdgoModuleOptions> = () => ({}),
): Promise<TestCluster> {
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const members = ports.map((port) => `127.0.0.1:${port}`);
  const nodeOptions = new Map<string, Partial<ImdgoModuleOptions>>();

  async function boot(id: string): Promise<Omit<TestNode, 'id' | 'closed'>> {
    const module = await Test.createTestingModule({
      ...metadata,
      imports: [
        ImdgoModule.forRoot({ members, nodeId: id, ...TEST_TIMING, ...options, ...nodeOptions.get(id) }),
        ...(metadata.imports ?? []),
      ],
      // The opt-in providers of imdgo/terminus and imdgo/metrics, which several specs read.
      providers: [ImdgoHealthIndicator, ImdgoMetrics, ...(metadata.providers ?? [])],
    })
      .setLogger(testLogger())
      .compile();
    await module.init();
    return {
      module,
      store: module.get(ImdgoStore),
      runtime: module.get(ImdgoRuntime),
      cluster: module.get(ImdgoCluster),
    };
  }

  const nodes: TestNode[] = [];
  for (const [index, id] of members.entries()) {
    nodeOptions.set(id, perNode(index));
    nodes.push({ id, closed: false, ...(await boot(id)) });
  }
  await waitForVoters(nodes, size);
  const live = () => nodes.filter((n) => !n.closed);
  const cluster: TestCluster = {
    nodes,
    members,
    async leader() {
      return waitFor(() => live().find((n) => n.runtime.node.isLeader()), 'a leader');
    },
    async followers() {
      const leader = await cluster.leader();
      return live().filter((n) => n !== leader);
    },
    async close(node) {
      node.closed = true;
      await node.module.close();
    },
    async restart(node) {
      Object.assign(node, await boot(node.id), { closed: false });
    },
    async addNode(extra = {}) {
      const id = `127.0.0.1:${await freePort()}`;
      nodeOptions.set(id, extra);
      const node: TestNode = { id, closed: false, ...(await boot(id)) };
      nodes.push(node);
      return node;
    },
    async closeAll() {
      await Promise.all(live().map((n) => cluster.close(n)));
    },
  };
  return cluster;
}

/** Nodes form the cluster by discovery: waits until each of them sees `count` voters. */
export async function waitForVoters(nodes: readonly TestNode[], count: number): Promise<void> {
  const voters = (n: TestNode) => n.runtime.node.localStatus().members.filter((m) => m.voter);
  try {
    await waitFor(
      () => nodes.every((n) => n.closed || voters(n).length === count),
      `${count} voters`,
      15_000,
    );
  } catch (error) {
    const views = nodes.filter((n) => !n.closed).map((n) => `${n.id} sees ${voters(n).map((m) => m.id)}`);
    throw new Error(`${(error as Error).message}; ${views.join('; ')}`, { cause: error });
  }
}

/** Polls until `probe` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
