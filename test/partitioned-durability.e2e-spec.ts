import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

const PARTITIONS = 4;

describe('partitions with dataDir', () => {
  let cluster: TestCluster | null = null;
  const dirs: string[] = [];

  afterAll(async () => {
    await cluster?.closeAll();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('keeps each group in its own directory and every acknowledged write across a full restart', async () => {
    for (let i = 0; i < 3; i++) dirs.push(await mkdtemp(join(tmpdir(), 'imdgo-grid-e2e-')));
    cluster = await startCluster(3, { partitions: PARTITIONS, replicas: 3 }, {}, (i) => ({
      dataDir: dirs[i],
    }));
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
    const keys = Array.from({ length: 40 }, (_, i) => `durable-${i}`);
    await Promise.all(keys.map((key, i) => cluster!.nodes[i % 3]!.store.map<number>('d').set(key, i)));
    // Group 0 is the coordination group, partition p is group p + 1.
    const expected = Array.from({ length: PARTITIONS + 1 }, (_, group) => `group-${group}`);
    for (const dir of dirs)
      expect((await readdir(dir)).filter((name) => name.startsWith('group-')).sort()).toEqual(expected);

    for (const node of cluster.nodes) await cluster.close(node);
    await Promise.all(cluster.nodes.map((node) => cluster!.restart(node)));
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
    for (const node of cluster.nodes) {
      const map = node.store.map<number>('d');
      for (const [i, key] of keys.entries()) expect(await map.get(key)).toBe(i);
      expect(await map.size()).toBe(keys.length);
    }
  }, 180_000);

  it('rejoins every group of a memory-mode node restarted empty, and serves it all again', async () => {
    await cluster?.closeAll();
    cluster = await startCluster(3, { partitions: PARTITIONS, replicas: 3 });
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
    const keys = Array.from({ length: 24 }, (_, i) => `memory-${i}`);
    await Promise.all(keys.map((key, i) => cluster!.nodes[i % 3]!.store.map<number>('m').set(key, i)));
    const restarted = cluster.nodes[1]!;
    await cluster.close(restarted);
    await cluster.restart(restarted);
    await restarted.store.ready({ timeoutMs: 60_000 });
    const map = restarted.store.map<number>('m');
    for (const [i, key] of keys.entries()) expect(await map.get(key)).toBe(i);
    // With 3 replicas of 3 members it holds every partition again, caught up through the log or a snapshot.
    for (const [i, key] of keys.entries()) {
      await waitFor(() => map.peek(key) === i, `the restarted replica of ${key}`, 60_000);
    }
  }, 180_000);
});
