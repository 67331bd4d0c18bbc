import { BusyError, StoreFullError, type ChangeEvent } from 'imdgo';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

// The cap and the write queue of one group: with partitions each partition's group has its own (see Limits).
describe('memory cap and overload', () => {
  let cluster: TestCluster | null = null;

  afterEach(async () => {
    await cluster?.closeAll();
    cluster = null;
  });

  it('refuses writes that would grow a full store, while reads and deletes keep working on every node', async () => {
    cluster = await startCluster(3, { partitions: 1, maxStoreBytes: 4_000 });
    const [follower] = await cluster.followers();
    const store = follower!.store;
    let written = 0;
    let refused: unknown = null;
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        await store.set(`k${i}`, 'x'.repeat(50));
        written++;
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(StoreFullError);
    expect(written).toBeGreaterThan(10);
    expect(await store.get('k0')).toBe('x'.repeat(50));
    for (const node of cluster.nodes) expect(await node.store.size()).toBe(written);
    await store.delete('k0');
    await store.delete('k1');
    await store.set('after-delete', 'fits again');
    // Overwriting with a smaller value does not grow the store: allowed even when full.
    await store.set('k2', 'y');
  });

  it("caps the writes of a node configured without the cap: the limit is the leader's, stamped in the log", async () => {
    cluster = await startCluster(3, { partitions: 1 }, {}, (index) =>
      index === 0 ? {} : { maxStoreBytes: 2_000 },
    );
    const uncapped = cluster.nodes[0]!;
    if ((await cluster.leader()) === uncapped)
      await uncapped.cluster.transferLeadership(cluster.nodes[1]!.id);
    await waitFor(
      () => cluster!.nodes[1]!.runtime.node.isLeader() || cluster!.nodes[2]!.runtime.node.isLeader(),
      'a capped leader',
    );
    let refused: unknown = null;
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        await uncapped.store.set(`k${i}`, 'x'.repeat(50));
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(StoreFullError);
    expect((refused as Error).message).toContain('maxStoreBytes 2000');
    const sizes = await Promise.all(cluster.nodes.map((n) => n.store.size()));
    expect(new Set(sizes).size).toBe(1);
  });

  it('evicts the keys nearest to expiry, the same ones on every node, with the evict-ttl policy', async () => {
    // About 1,050 bytes of keys and values are written below: the last writes need evictions.
    cluster = await startCluster(3, { partitions: 1, maxStoreBytes: 800, memoryPolicy: 'evict-ttl' });
    const leader = await cluster.leader();
    const evicted: ChangeEvent[] = [];
    const subscription = cluster.nodes[2]!.store.changes$.subscribe(
      (c) => c.type === 'evict' && evicted.push(c),
    );
    for (let i = 0; i < 10; i++)
      await leader.store.set(`ttl:${i}`, 'v'.repeat(40), { ttl: 600_000 + i * 1_000 });
    for (let i = 0; i < 12; i++) await leader.store.set(`keep:${i}`, 'v'.repeat(40));
    subscription.unsubscribe();
    expect(evicted.length).toBeGreaterThan(0);
    // Nearest deadline first.
    expect(evicted[0]!.key).toBe('ttl:0');
    for (const node of cluster.nodes) {
      expect(await node.store.has('ttl:0')).toBe(false);
      expect(await node.store.get('keep:11')).toBe('v'.repeat(40));
    }
    const sizes = await Promise.all(cluster.nodes.map((n) => n.store.size()));
    expect(new Set(sizes).size).toBe(1);
  });

  it('bounds the write queue under a flood: excess writes fail fast with BusyError and memory stays bounded', async () => {
    cluster = await startCluster(3, { partitions: 1, maxPendingWrites: 500 });
    const leader = await cluster.leader();
    const before = process.memoryUsage().heapUsed;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20_000 }, (_, i) => leader.store.set(`flood:${i % 1000}`, i)),
    );
    const busy = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof BusyError).length;
    const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(busy).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    expect(busy + ok).toBe(outcomes.length);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(300 * 1024 * 1024);
    await waitFor(() => true, 'settling');
    await leader.store.set('after-flood', 1);
    expect(await cluster.nodes[0]!.store.get('after-flood')).toBe(1);
  });
});
