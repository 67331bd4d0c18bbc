import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './support/cluster.ts';

/** The default options on clusters smaller than the default replica count: replicas are capped. */
describe('the default partition count on 1 and 2 members', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.closeAll();
    cluster = undefined;
  });

  it.each([1, 2])(
    'serves every key of 64 partitions on %i member(s), each partition on all of them',
    async (size) => {
      cluster = await startCluster(size);
      const [first, last] = [cluster.nodes[0]!, cluster.nodes.at(-1)!];
      // Ready: each node routes by the table placement recorded.
      await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 20_000 })));
      const report = first.cluster.partitions()!;
      expect(report.partitions).toHaveLength(64);
      expect(report.replicas).toBe(size);
      for (const partition of report.partitions) expect(partition.voters).toHaveLength(size);

      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
      for (const [i, key] of keys.entries()) await first.store.set(key, i);
      expect(new Set(keys.map((key) => first.store.map('').partitionOf(key))).size).toBeGreaterThan(1);
      for (const [i, key] of keys.entries()) expect(await last.store.get(key)).toBe(i);
      expect(await last.store.size()).toBe(keys.length);
      expect((await last.store.keys({ limit: 100 })).items).toEqual([...keys].sort());
    },
  );
});
