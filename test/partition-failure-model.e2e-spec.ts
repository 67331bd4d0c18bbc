import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster, type TestNode } from './support/cluster.ts';

const PARTITIONS = 8;
const REQUEST_TIMEOUT_MS = 1_500;

/** A key of `map` that falls in `partition`, found by trying names. */
function keyIn(node: TestNode, map: string, partition: number): string {
  for (let i = 0; ; i++) if (node.store.map(map).partitionOf(`k${i}`) === partition) return `k${i}`;
}

/** The README's failure model per partition: each partition stands or falls with its own replicas. */
describe('the failure model per partition, 5 members, 8 partitions of 3 replicas', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(5, {
      partitions: PARTITIONS,
      replicas: 3,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    // The test reasons from the table: wait until placement has settled it (ready members, one epoch
    // everywhere, no move under way) so that it does not change under the test.
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
    await waitFor(
      () => {
        const reports = cluster.nodes.map((node) => node.cluster.partitions()!);
        return new Set(reports.map((r) => r.epoch)).size === 1 && reports.every((r) => r.moves.length === 0);
      },
      'placement settled on one table',
      60_000,
    );
  }, 180_000);
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('with two members stopped, serves the partitions that kept 2 of 3 replicas and only those; locks still work', async () => {
    const [writer] = cluster.nodes;
    const table = writer!.cluster.partitions()!.partitions;
    // Two members that share a partition, so that some partition loses its majority.
    const shared = table[0]!.voters.filter((id) => id !== writer!.id).slice(0, 2);
    expect(shared).toHaveLength(2);
    for (const id of shared) await cluster.close(cluster.nodes.find((node) => node.id === id)!);
    const reader = cluster.nodes.find((node) => !node.closed && node !== writer)!;

    const outcomes = await Promise.all(
      table.map(async ({ partition, voters }) => {
        const key = keyIn(writer!, 'fm', partition);
        const lost = voters.filter((id) => shared.includes(id)).length;
        const written = await writer!.store
          .map<number>('fm')
          .set(key, partition)
          .then(
            () => true,
            () => false,
          );
        return { partition, lost, written, key };
      }),
    );
    expect(outcomes.filter((o) => o.lost === 2).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.lost < 2).length).toBeGreaterThan(0);
    for (const { partition, lost, written, key } of outcomes) {
      expect({ partition, written }).toEqual({ partition, written: lost < 2 });
      if (written) expect(await reader.store.map<number>('fm').get(key)).toBe(partition);
    }
    // The coordination group (all 5 members vote) keeps 3 of 5: locks are granted.
    const lock = reader.store.lock('fm-lock');
    expect(await lock.lock()).toBeGreaterThan(0);
    await lock.unlock();
  }, 60_000);
});
