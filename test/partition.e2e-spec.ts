import { ImdgoFaultInjector } from 'imdgo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

describe('a partition made by fault injection', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // One group: the test follows that group's leader (per partition: test/partition-failure-model, chaos).
    cluster = await startCluster(3, { faultInjection: true, requestTimeoutMs: 2_000, partitions: 1 });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('deposes an isolated leader, keeps the majority writable, and heals without losing a write', async () => {
    const oldLeader = await cluster.leader();
    const others = cluster.nodes.filter((n) => n !== oldLeader);
    oldLeader.module.get(ImdgoFaultInjector).block(others.map((n) => n.id));
    for (const node of others) node.module.get(ImdgoFaultInjector).block([oldLeader.id]);

    const newLeader = await waitFor(() => others.find((n) => n.runtime.node.isLeader()), 'a new leader');
    await newLeader.store.set('during-partition', 1);
    // CheckQuorum: the cut-off leader steps down instead of serving stale reads.
    await waitFor(() => !oldLeader.runtime.node.isLeader(), 'the old leader to step down');
    await expect(oldLeader.store.get('during-partition')).rejects.toThrow(/no leader|did not complete/);

    for (const node of cluster.nodes) node.module.get(ImdgoFaultInjector).heal();
    await waitFor(() => oldLeader.store.peek('during-partition') === 1, 'the old leader to catch up');
    expect(await oldLeader.store.get('during-partition')).toBe(1);
  });
});
