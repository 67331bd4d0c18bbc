import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './support/cluster.ts';

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
});
