import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ImdgoModule, ImdgoStore, InvalidArgumentError, OnKeyChange, type ChangeEvent } from 'imdgo';
import { freePort } from 'imdgo/testing';
import { firstValueFrom, take, toArray, type Subscription } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
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
    providers: [SeenChanges],
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

  it('grants a lock taken on a node with no voter seat in the coordination group', async () => {
    const learner = nodes.find((node) => !node.runtime.coordination.isSeatedVoter());
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
  });
});
