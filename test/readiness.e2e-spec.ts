import { ImdgoHealthIndicator } from 'imdgo/terminus';
import { ImdgoFaultInjector } from 'imdgo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster, type TestNode } from './support/cluster.ts';

async function readiness(node: TestNode) {
  return (await node.module.get(ImdgoHealthIndicator).isReady()).imdgo;
}

describe('readiness: a voter again, caught up', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // One group: its voter seat is what readiness waits for (partitioned readiness: test/partitioned-durability).
    cluster = await startCluster(3, { faultInjection: true, partitions: 1 });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('keeps a member restarted without state unready until it is a voter again holding every write', async () => {
    const [member] = await cluster.followers();
    const others = cluster.nodes.filter((n) => n !== member);
    expect((await readiness(member!)).status).toBe('up');
    await cluster.close(member!);
    // It comes back cut off from the others: it cannot rejoin.
    for (const node of others) node.module.get(ImdgoFaultInjector).block([member!.id]);
    await cluster.restart(member!);
    await (await cluster.leader()).store.set('while-away', 42);
    expect(await readiness(member!)).toMatchObject({ status: 'down', reason: /not a voter/ });

    for (const node of others) node.module.get(ImdgoFaultInjector).heal();
    const deadline = Date.now() + 15_000;
    while ((await readiness(member!)).status !== 'up') {
      if (Date.now() > deadline) throw new Error(`never ready: ${JSON.stringify(await readiness(member!))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const voters = member!.runtime.node.localStatus().members.filter((m) => m.voter);
    expect(voters.map((m) => m.id).sort()).toEqual(cluster.members.toSorted());
    expect(await member!.store.get('while-away', { consistency: 'local' })).toBe(42);
  });
});
