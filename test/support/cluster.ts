import 'reflect-metadata';
import type { ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ImdgoModule, ImdgoRuntime, ImdgoStore, type ImdgoModuleOptions } from 'imdgo';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { testLogger } from './quiet-logs.ts';

export interface TestNode {
  readonly id: string;
  readonly module: TestingModule;
  readonly store: ImdgoStore;
  readonly runtime: ImdgoRuntime;
  closed: boolean;
}

export interface TestCluster {
  readonly nodes: TestNode[];
  leader(): Promise<TestNode>;
  followers(): Promise<TestNode[]>;
  close(node: TestNode): Promise<void>;
  closeAll(): Promise<void>;
}

/** Fast timers for tests: a 20 ms tick gives 200-400 ms elections. */
export const TEST_TIMING = {
  tickMs: 20,
  electionTicks: 10,
  heartbeatTicks: 1,
  requestTimeoutMs: 5_000,
} as const;

/** Starts `size` nodes in this process, each a Nest testing module on its own loopback port. */
export async function startCluster(
  size: number,
  options: Partial<ImdgoModuleOptions> = {},
  metadata: ModuleMetadata = {},
): Promise<TestCluster> {
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const members = ports.map((port) => `127.0.0.1:${port}`);
  const nodes: TestNode[] = [];
  for (const id of members) {
    const module = await Test.createTestingModule({
      ...metadata,
      imports: [
        ImdgoModule.forRoot({ members, nodeId: id, ...TEST_TIMING, ...options }),
        ...(metadata.imports ?? []),
      ],
    })
      .setLogger(testLogger())
      .compile();
    await module.init();
    nodes.push({
      id,
      module,
      store: module.get(ImdgoStore),
      runtime: module.get(ImdgoRuntime),
      closed: false,
    });
  }
  // Nodes form the cluster by discovery: wait until every one of them is a voter.
  await waitFor(
    () => nodes.every((n) => n.runtime.node.localStatus().members.filter((m) => m.voter).length === size),
    `all ${size} nodes to be voters`,
  );
  const live = () => nodes.filter((n) => !n.closed);
  const cluster: TestCluster = {
    nodes,
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
    async closeAll() {
      await Promise.all(live().map((n) => cluster.close(n)));
    },
  };
  return cluster;
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
