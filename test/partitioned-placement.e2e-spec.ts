import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ImdgoCluster, ImdgoModule, ImdgoStore, OnKeyChange, type ChangeEvent } from 'imdgo';
import { ImdgoMetrics } from 'imdgo/metrics';
import { freePort } from 'imdgo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import { testLogger } from './support/quiet-logs.ts';

const NODES = 6;
const PARTITIONS = 16;
const REPLICAS = 3;
/** As partitioned-grid's timing: one process hosts every node's coordination and partition groups. */
const TIMING = { tickMs: 40, electionTicks: 10, heartbeatTicks: 1, requestTimeoutMs: 20_000 } as const;
/** Short, so that a stopped member's replicas are re-created within the test. */
const PLACEMENT = {
  deadMemberTimeoutMs: 2_000,
  placement: { intervalMs: 250, failureDetectionMs: 1_500, moveTimeoutMs: 20_000, maxConcurrentMoves: 4 },
} as const;

/** What `@OnKeyChange` delivered on one node, in order. */
@Injectable()
class SeenChanges {
  readonly events: ChangeEvent[] = [];

  @OnKeyChange({ map: 'placed' })
  onChange(change: ChangeEvent<never>): void {
    this.events.push(change);
  }
}

interface PlacedNode {
  readonly id: string;
  readonly module: TestingModule;
  readonly store: ImdgoStore;
  readonly runtime: ImdgoRuntime;
  readonly cluster: ImdgoCluster;
  readonly seen: SeenChanges;
  closed: boolean;
}

let members: string[];
let nodes: PlacedNode[];
const live = () => nodes.filter((node) => !node.closed);

async function boot(id: string): Promise<PlacedNode> {
  const module = await Test.createTestingModule({
    imports: [
      ImdgoModule.forRoot({
        members,
        nodeId: id,
        partitions: PARTITIONS,
        replicas: REPLICAS,
        ...TIMING,
        ...PLACEMENT,
      }),
    ],
    providers: [SeenChanges, ImdgoMetrics],
  })
    .setLogger(testLogger())
    .compile();
  await module.init();
  return {
    id,
    module,
    store: module.get(ImdgoStore),
    runtime: module.get(ImdgoRuntime),
    cluster: module.get(ImdgoCluster),
    seen: module.get(SeenChanges),
    closed: false,
  };
}

async function close(node: PlacedNode): Promise<void> {
  node.closed = true;
  await node.module.close();
}

/** Polls `probe` (each round only yields to the event loop: no sleep stands for a condition). */
async function eventually(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The table as the coordination group recorded it, read on a live node. */
const recorded = () => live()[0]!.runtime.node.machine.grid.table!;

/**
 * Placement is done on `on`: every partition has 3 voters there and no learner, every live node routes by
 * the recorded table and hosts exactly the replicas it lists, and each partition is led where it prefers.
 */
function settledOn(on: readonly string[]): boolean {
  const table = recorded();
  return (
    table.partitions.every(
      (p) =>
        p.learners.length === 0 && p.voters.length === REPLICAS && p.voters.every((id) => on.includes(id)),
    ) &&
    live().every((node) => node.runtime.grid!.table().epoch === table.epoch) &&
    table.partitions.every((p, partition) =>
      live().every(
        (node) => (node.runtime.grid!.replica(partition) !== undefined) === p.voters.includes(node.id),
      ),
    ) &&
    table.partitions.every((p, partition) =>
      live()
        .find((node) => node.id === p.leader)
        ?.runtime.grid!.replica(partition)
        ?.isLeader(),
    )
  );
}

/** Partitions each member leads now, as the replicas themselves say. */
function leadershipCounts(on: readonly string[]): number[] {
  return on.map(
    (id) =>
      nodes
        .find((node) => node.id === id)!
        .runtime.grid!.status()
        .filter((p) => p.role === 'leader').length,
  );
}

/** How far apart the largest and smallest counts are. */
const spread = (counts: number[]) => Math.max(...counts) - Math.min(...counts);

/** Acknowledged writes, per key in the order they were acknowledged. */
const acked = new Map<string, number[]>();

/** Writes `rounds` values to each key through `node`, one after another per key. */
async function writeThrough(node: PlacedNode, keys: readonly string[], rounds: number): Promise<void> {
  const map = node.store.map<number>('placed');
  await Promise.all(
    keys.map(async (key) => {
      for (let round = 1; round <= rounds; round++) {
        await map.set(key, round);
        acked.set(key, [...(acked.get(key) ?? []), round]);
      }
    }),
  );
}

/** Every acknowledged write reads back (linearizably) on every live node. */
async function expectNothingLost(): Promise<void> {
  for (const reader of live()) {
    const map = reader.store.map<number>('placed');
    for (const [key, values] of acked)
      expect(await map.get(key), `${key} on ${reader.id}`).toBe(values.at(-1));
  }
}

/** Each `@OnKeyChange` sequence of `node`, per key, is exactly what was acknowledged, in revision order. */
function expectKeyOrder(node: PlacedNode, keys: Iterable<string>): void {
  for (const key of keys) {
    const events = node.seen.events.filter((event) => event.key === key);
    expect(
      events.map((event) => event.value),
      `${key} on ${node.id}`,
    ).toEqual(acked.get(key));
    const revisions = events.map((event) => event.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  }
}

const allSeen = (node: PlacedNode, keys: Iterable<string>) =>
  [...keys].every(
    (key) => node.seen.events.filter((event) => event.key === key).length === acked.get(key)!.length,
  );

beforeAll(async () => {
  const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()));
  members = ports.map((port) => `127.0.0.1:${port}`);
  nodes = await Promise.all(members.map((id) => boot(id)));
  await Promise.all(nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
  await eventually(() => settledOn(members), 'the formation placed and led', 30_000);
}, 90_000);

afterAll(async () => {
  await Promise.all(live().map((node) => node.module.close()));
});

describe(`placement with ${NODES} nodes, ${PARTITIONS} partitions, ${REPLICAS} replicas`, () => {
  let stopped: PlacedNode;

  it('re-creates a stopped member’s replicas on the live ones, losing nothing acknowledged', async () => {
    await Promise.all(
      nodes.map((node, i) =>
        writeThrough(
          node,
          [0, 1, 2].map((j) => `a-${i}-${j}`),
          3,
        ),
      ),
    );
    const leader = nodes.find((node) => node.runtime.node.isLeader());
    // A member that does not lead the coordination group: its leader's failure detector sees it go.
    stopped = nodes.find(
      (node) =>
        node !== leader && node.runtime.grid!.table().partitions.some((p) => p.voters.includes(node.id)),
    )!;
    const held = recorded().partitions.filter((p) => p.voters.includes(stopped.id)).length;
    expect(held).toBeGreaterThan(0);
    await close(stopped);
    const remaining = live().map((node) => node.id);
    await eventually(() => settledOn(remaining), `${held} replicas of ${stopped.id} re-created`);
    // Taken out of the coordination group too, so that its voters keep a live majority.
    await eventually(
      () =>
        !live()[0]!
          .runtime.node.localStatus()
          .members.some((m) => m.id === stopped.id),
      `${stopped.id} out of the coordination group`,
    );
    await expectNothingLost();
  });

  let joined: PlacedNode;
  const duringJoin: string[] = [];

  it('moves partitions to a seventh node that joins, balancing leaderships within one, writes going on', async () => {
    const id = `127.0.0.1:${await freePort()}`;
    // Started like any joining node: with members of the running cluster, which do not name it.
    joined = await boot(id);
    nodes.push(joined);
    const writer = live()[0]!;
    // The writer runs until placement settled, the sampler of moves until addMember resolved.
    const running = { writer: true, sampler: true };
    const writes = (async () => {
      for (let round = 0; running.writer; round++) {
        const keys = [0, 1, 2, 3].map((j) => `b-${round}-${j}`);
        duringJoin.push(...keys);
        await writeThrough(writer, keys, 2);
      }
    })();
    // Samples, while the join goes on, the moves each node reports and, in the same turn, its gauge.
    const reported: { type: string; member?: string; gauge: number; listed: number }[] = [];
    const sampling = (async () => {
      while (running.sampler) {
        for (const node of live()) {
          const gauge = node.module
            .get(ImdgoMetrics)
            .registry.getSingleMetric('imdgo_partition_moves_in_progress')!;
          const moves = node.cluster.partitions()!.moves;
          // The gauge's collect runs synchronously within get(): it reads the same moves as the line above.
          const value = (await gauge.get()).values[0]?.value ?? -1;
          for (const move of moves) reported.push({ ...move, gauge: value, listed: moves.length });
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await writer.cluster.addMember(id, 60_000);
    running.sampler = false;
    await sampling;
    // Promotions wait for the new replica to catch up: long enough to be seen in progress.
    expect(reported.some((move) => move.member === id)).toBe(true);
    for (const sample of reported) expect(sample.gauge).toBe(sample.listed);
    const on = live().map((node) => node.id);
    // Leadership balancing follows the replica moves (transfers the table records one by one).
    await eventually(
      () => settledOn(on) && spread(leadershipCounts(on)) <= 1,
      'the join placed, and leaderships balanced within one',
    );
    running.writer = false;
    await writes;
    const held = recorded().partitions.filter((p) => p.voters.includes(id)).length;
    expect(held).toBeGreaterThanOrEqual(Math.floor((PARTITIONS * REPLICAS) / on.length));
    const counts = leadershipCounts(on);
    expect(spread(counts), `leaderships ${counts.join(', ')}`).toBeLessThanOrEqual(1);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(PARTITIONS);
    // Some of those writes went to partitions that moved to the new node while they ran.
    const partitionOf = (key: string) => joined.store.map('placed').partitionOf(key);
    const moved = recorded().partitions.flatMap((p, partition) => (p.voters.includes(id) ? [partition] : []));
    expect(duringJoin.filter((key) => moved.includes(partitionOf(key))).length).toBeGreaterThan(0);
    await expectNothingLost();
  });

  it('fires @OnKeyChange on every node for every write, in per-key order, across the moves', async () => {
    const before = [...acked.keys()].filter((key) => !duringJoin.includes(key));
    const original = live().filter((node) => node !== joined);
    await eventually(
      () => original.every((node) => allSeen(node, acked.keys())) && allSeen(joined, duringJoin),
      'every write seen on every node',
    );
    for (const node of original) expectKeyOrder(node, acked.keys());
    // The joined node started after the first writes: it sees what was written once it ran.
    expectKeyOrder(joined, duringJoin);
    expect(before.length).toBeGreaterThan(0);
  });

  it('drains a member on removeMember: every replica and leadership moved off, then out of the coordination group', async () => {
    const leaving = live().find((node) => !node.runtime.node.isLeader() && node !== joined)!;
    const asker = live().find((node) => node !== leaving)!;
    await asker.cluster.removeMember(leaving.id, 60_000);
    // As the asker applied it (the leaving node's own copy stops where it left the coordination group).
    const table = asker.runtime.node.machine.grid.table!;
    expect(
      table.partitions.some((p) => p.voters.includes(leaving.id) || p.learners.includes(leaving.id)),
    ).toBe(false);
    expect(asker.runtime.node.localStatus().members.some((m) => m.id === leaving.id)).toBe(false);
    const report = asker.cluster.partitions()!;
    expect(report.partitions.every((p) => !p.voters.includes(leaving.id))).toBe(true);
    await close(leaving);
    const on = live().map((node) => node.id);
    await eventually(() => settledOn(on), 'routing around the drained member');
    await writeThrough(live()[1]!, ['c-0', 'c-1'], 1);
    await expectNothingLost();
    await expect(asker.cluster.addMember('127.0.0.1:2', 300)).rejects.toThrow(
      /addMember\(127\.0\.0\.1:2\): it did not register within 300 ms: start it with this cluster's members/,
    );
    await expect(asker.cluster.removeMember('127.0.0.1:1', 1_000)).rejects.toThrow(
      /127\.0\.0\.1:1 is not a member of this grid/,
    );
  });
});
