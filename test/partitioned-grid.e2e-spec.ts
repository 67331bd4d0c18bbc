import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ImdgoMetrics } from 'imdgo/metrics';
import { ImdgoHealthIndicator } from 'imdgo/terminus';
import {
  ImdgoCluster,
  ImdgoModule,
  ImdgoStore,
  InvalidArgumentError,
  OnKeyChange,
  type ChangeEvent,
} from 'imdgo';
import { freePort } from 'imdgo/testing';
import { firstValueFrom, take, toArray, type Subscription } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import { ClusterController } from '../apps/demo/src/cluster/cluster.controller.ts';
import { WatchController } from '../apps/demo/src/watch/watch.controller.ts';
import { testLogger } from './support/quiet-logs.ts';

const NODES = 6;
const PARTITIONS = 16;
const REPLICAS = 3;
/** Slower than the usual test timing: one process hosts 6 coordination and 48 partition groups. */
const TIMING = { tickMs: 40, electionTicks: 10, heartbeatTicks: 1, requestTimeoutMs: 20_000 } as const;

/** What `@OnKeyChange` delivered on one node, in order. */
@Injectable()
class SeenChanges {
  readonly events: ChangeEvent[] = [];

  @OnKeyChange({ map: 'grid' })
  onGridChange(change: ChangeEvent<never>): void {
    this.events.push(change);
  }
}

interface GridTestNode {
  readonly id: string;
  readonly module: TestingModule;
  readonly store: ImdgoStore;
  readonly runtime: ImdgoRuntime;
  readonly seen: SeenChanges;
  /** Every change of map `grid` this node's `changes$` emitted. */
  readonly streamed: ChangeEvent[];
  readonly subscription: Subscription;
  closed: boolean;
}

let nodes: GridTestNode[];
const live = () => nodes.filter((node) => !node.closed);

async function boot(members: string[], id: string): Promise<GridTestNode> {
  const module = await Test.createTestingModule({
    imports: [
      ImdgoModule.forRoot({ members, nodeId: id, partitions: PARTITIONS, replicas: REPLICAS, ...TIMING }),
    ],
    providers: [SeenChanges, ImdgoMetrics, ImdgoHealthIndicator],
  })
    .setLogger(testLogger())
    .compile();
  await module.init();
  const store = module.get(ImdgoStore);
  const streamed: ChangeEvent[] = [];
  const subscription = store.map('grid').changes$.subscribe((change) => {
    if (change.type !== 'reset') streamed.push(change);
  });
  return {
    id,
    module,
    store,
    runtime: module.get(ImdgoRuntime),
    seen: module.get(SeenChanges),
    streamed,
    subscription,
    closed: false,
  };
}

/** Polls `probe` (no sleeping as synchronization: each round yields to the event loop only). */
async function eventually(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether `node` holds a replica of the key's partition. */
const holds = (node: GridTestNode, key: string, map = 'grid') =>
  node.runtime.grid!.replica(node.runtime.grid!.partitionOf(map, key)) !== undefined;

beforeAll(async () => {
  const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()));
  const members = ports.map((port) => `127.0.0.1:${port}`);
  nodes = await Promise.all(members.map((id) => boot(members, id)));
  await Promise.all(nodes.map((node) => node.store.ready({ timeoutMs: 90_000 })));
}, 120_000);

afterAll(async () => {
  for (const node of nodes ?? []) node.subscription.unsubscribe();
  await Promise.all(live().map((node) => node.module.close()));
});

describe(`${NODES} nodes, ${PARTITIONS} partitions, ${REPLICAS} replicas`, () => {
  it('places every partition on 3 of the 6 nodes, each node holding some but not all', () => {
    const table = nodes[0]!.runtime.grid!.table();
    expect(table.partitions).toHaveLength(PARTITIONS);
    for (const replicas of table.partitions) expect(replicas.voters).toHaveLength(REPLICAS);
    for (const node of nodes) {
      const held = Array.from({ length: PARTITIONS }, (_, p) => node.runtime.grid!.replica(p)).filter(
        Boolean,
      );
      expect(held.length).toBeGreaterThan(0);
      expect(held.length).toBeLessThan(PARTITIONS);
    }
  });

  const writes = new Map<string, number[]>();

  it('takes writes through every node and reads each key linearizably from every node', async () => {
    await Promise.all(
      nodes.map(async (node, i) => {
        const map = node.store.map<number>('grid');
        for (let j = 0; j < 6; j++) {
          const key = `k-${i}-${j}`;
          for (let round = 1; round <= 3; round++) {
            const result = await map.set(key, round);
            expect(result.partition).toBe(map.partitionOf(key));
            expect(result.revision).toBeGreaterThan(0);
          }
          writes.set(key, [1, 2, 3]);
        }
      }),
    );
    let withoutReplica = 0;
    for (const reader of nodes) {
      const map = reader.store.map<number>('grid');
      for (const key of writes.keys()) {
        if (!holds(reader, key)) withoutReplica++;
        expect(await map.get(key)).toBe(3);
        expect(await map.get(key, { consistency: 'leader' })).toBe(3);
        // Local: this node's replica, or the nearest one's state; it may lag, so only eventually the last.
        await eventually(async () => (await map.get(key, { consistency: 'local' })) === 3, `local ${key}`);
      }
    }
    // Each key lives on 3 of 6 nodes: half the reads above ran on nodes holding no replica of the key.
    expect(withoutReplica).toBe(writes.size * (NODES - REPLICAS));
  });

  it('fires changes$ and @OnKeyChange on all 6 nodes for every write, in per-key order', async () => {
    const wanted = [...writes.values()].reduce((sum, values) => sum + values.length, 0);
    await eventually(
      () => nodes.every((n) => n.streamed.length >= wanted && n.seen.events.length >= wanted),
      `${wanted} events on every node`,
    );
    for (const node of nodes) {
      for (const source of [node.streamed, node.seen.events]) {
        expect(source).toHaveLength(wanted);
        for (const [key, values] of writes) {
          const events = source.filter((event) => event.key === key);
          expect(events.map((event) => event.value)).toEqual(values);
          const revisions = events.map((event) => event.revision);
          expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
          expect(
            events.every(
              (event) =>
                (event as { partition?: number }).partition === node.store.map('grid').partitionOf(key),
            ),
          ).toBe(true);
        }
      }
    }
  });

  it('keeps hash-tagged keys in one partition and commits a transaction on them', async () => {
    const map = nodes[1]!.store.map<number>('orders');
    const tagged = ['{order:7}:total', '{order:7}:lines', '{order:7}:status'];
    expect(new Set(tagged.map((key) => map.partitionOf(key))).size).toBe(1);
    const result = await map.txn({
      compare: [{ key: '{order:7}:total', exists: false }],
      success: tagged.map((key, i) => ({ op: 'set' as const, key, value: i + 1 })),
    });
    expect(result.succeeded).toBe(true);
    expect(result.partition).toBe(map.partitionOf('{order:7}'));
    for (const reader of nodes) {
      expect(await reader.store.map<number>('orders').get('{order:7}:lines')).toBe(2);
    }
  });

  it('refuses a transaction whose keys are in different partitions, explaining hash tags', async () => {
    const map = nodes[2]!.store.map<number>('orders');
    const keys = Array.from({ length: 64 }, (_, i) => `plain-${i}`);
    const other = keys.find((key) => map.partitionOf(key) !== map.partitionOf(keys[0]!))!;
    const attempt = map.txn({
      success: [
        { op: 'set', key: keys[0]!, value: 1 },
        { op: 'set', key: other, value: 2 },
      ],
    });
    await expect(attempt).rejects.toThrow(InvalidArgumentError);
    await expect(attempt).rejects.toThrow(/share one partition.*hash tag in braces/);
    expect(await map.get(keys[0]!)).toBeUndefined();
  });

  it('pages keys and entries across partitions in key order, and sums size', async () => {
    const writer = nodes[3]!.store.map<number>('paged');
    const keys = Array.from({ length: 45 }, (_, i) => `p-${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((key, i) => writer.set(key, i)));
    expect(new Set(keys.map((key) => writer.partitionOf(key))).size).toBeGreaterThan(8);
    for (const reader of [nodes[0]!, nodes[5]!]) {
      const map = reader.store.map<number>('paged');
      const listed: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await map.keys({ after, limit: 7 });
        expect(page.items.length).toBeLessThanOrEqual(7);
        listed.push(...page.items);
        after = page.cursor ?? undefined;
        pages++;
      } while (after !== undefined);
      expect(listed).toEqual(keys);
      expect(pages).toBe(Math.ceil(keys.length / 7));
      const entries = await map.entries({ prefix: 'p-00', limit: 100 });
      expect(entries.items.map((entry) => [entry.key, entry.value])).toEqual(
        keys.slice(0, 10).map((key, i) => [key, i]),
      );
      expect(entries.cursor).toBeNull();
      expect(await map.size()).toBe(keys.length);
    }
  });

  it('peeks at the local replica, and returns undefined on a node holding none', async () => {
    const key = 'k-0-0';
    for (const node of nodes) {
      const map = node.store.map<number>('grid');
      if (holds(node, key)) await eventually(() => map.peek(key) === 3, `peek on ${node.id}`);
      else expect(map.peek(key)).toBeUndefined();
    }
  });

  it('resumes a watch from the opaque cursor of an event, across partitions', async () => {
    const watcher = nodes[4]!.store.map<number>('watched');
    const writer = nodes[0]!.store.map<number>('watched');
    const firstTwo = firstValueFrom(watcher.watch('w-*').pipe(take(2), toArray()));
    await writer.set('w-a', 1);
    await writer.set('w-b', 2);
    const [, second] = await firstTwo;
    expect(typeof second!.cursor).toBe('string');
    const later = ['w-c', 'w-d', 'w-e', 'w-f'];
    for (const [i, key] of later.entries()) await writer.set(key, i);
    const resumed = await firstValueFrom(
      watcher.watch('w-*', { fromRevision: second!.cursor }).pipe(take(later.length), toArray()),
    );
    expect(resumed.map((event) => event.key).sort()).toEqual(later);
    expect(() => watcher.watch('w-*', { fromRevision: 3 })).toThrow(/cursor/);
  });

  it('serves the demo SSE watch with cursors as event ids, resuming after Last-Event-ID', async () => {
    const watcher = nodes[1]!;
    const demo = new WatchController(watcher.store, watcher.module.get(ImdgoCluster));
    const firstTwo = firstValueFrom(demo.watch({ prefix: 'sse:' }, undefined).pipe(take(2), toArray()));
    const writer = nodes[4]!.store;
    await writer.set('sse:1', 1);
    await writer.set('sse:2', 2);
    const [first, second] = await firstTwo;
    expect(first!.id).toBe((first!.data as { cursor: string }).cursor);
    const resumed = await firstValueFrom(demo.watch({ prefix: 'sse:' }, first!.id as string).pipe(take(1)));
    expect(resumed.id).toBe(second!.id);
    expect((resumed.data as ChangeEvent).key).toBe('sse:2');
  });

  it("grants a lock taken on the member outside the coordination group's first five voters", async () => {
    // The coordination group's voters are the first five members in sorted order; the sixth is meant to
    // follow it as a learner (GridNode's placement of group 0).
    const voters = nodes
      .map((node) => node.id)
      .sort()
      .slice(0, 5);
    const learner = nodes.find((node) => !voters.includes(node.id));
    expect(learner).toBeDefined();
    const lock = learner!.store.lock('grid-lock');
    const token = await lock.lock();
    expect(token).toBeGreaterThan(0);
    const other = nodes.find((node) => node !== learner)!;
    expect(await other.store.lock('grid-lock').tryLock()).toBeNull();
    await lock.unlock();
    await eventually(
      async () => (await other.store.lock('grid-lock').tryLock()) !== null,
      'the lock released',
    );
  });

  it('reports the partition table and the share of each node in ImdgoCluster, metrics and readiness', async () => {
    await eventually(() => {
      const reports = nodes.map((node) => node.module.get(ImdgoCluster).partitions()!);
      return reports.reduce((sum, report) => sum + report.local.led, 0) === PARTITIONS;
    }, 'one leader per partition');
    for (const node of nodes) {
      const report = node.module.get(ImdgoCluster).partitions()!;
      expect(report.nodeId).toBe(node.id);
      expect(report.epoch).toBe(nodes[0]!.runtime.grid!.table().epoch);
      expect(report.partitions).toHaveLength(PARTITIONS);
      for (const partition of report.partitions) {
        expect(partition.voters).toHaveLength(REPLICAS);
        expect(partition.role !== null).toBe(partition.voters.includes(node.id));
      }
      expect(report.local.led + report.local.followed).toBe(
        report.partitions.filter((p) => p.voters.includes(node.id)).length,
      );
      // Every node read keys of partitions it holds no replica of.
      expect(report.local.forwardedCalls).toBeGreaterThan(0);
      const metrics = await node.module.get(ImdgoMetrics).registry.metrics();
      expect(metrics).toContain(`imdgo_partitions{role="leader"} ${report.local.led}`);
      expect(metrics).toMatch(/imdgo_grid_forwarded_calls [1-9]/);
      const ready = await node.module.get(ImdgoHealthIndicator).isReady();
      expect(ready.imdgo.status).toBe('up');
      // The demo's GET /cluster and /cluster/partitions.
      const demo = new ClusterController(node.module.get(ImdgoCluster));
      expect((await demo.status()).partitions?.partitions).toHaveLength(PARTITIONS);
      expect(demo.partitions().nodeId).toBe(node.id);
      await expect(node.module.get(ImdgoCluster).removeMember(nodes[0]!.id)).rejects.toThrow(
        /removeMember is not available with partitions > 1/,
      );
    }
  });

  it('acknowledges and serves every write after one node stops for good', async () => {
    const stopped = nodes[2]!;
    stopped.closed = true;
    stopped.subscription.unsubscribe();
    await stopped.module.close();
    const keys = Array.from({ length: 32 }, (_, i) => `after-stop-${i}`);
    await Promise.all(keys.map((key, i) => live()[i % live().length]!.store.map<number>('grid').set(key, i)));
    for (const reader of live()) {
      const map = reader.store.map<number>('grid');
      for (const [i, key] of keys.entries()) expect(await map.get(key)).toBe(i);
      expect(await map.get('k-2-5')).toBe(3);
    }
    await eventually(
      () => live().every((node) => keys.every((key) => node.seen.events.some((event) => event.key === key))),
      '@OnKeyChange for every write after the stop, on every live node',
    );
  });
});
