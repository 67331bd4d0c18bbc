import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_FORMAT_VERSION } from '../libs/imdgo/src/storage/data-dir-format.ts';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

const PARTITIONS = 4;

describe('partitions with dataDir', () => {
  let cluster: TestCluster | null = null;
  const dirs: string[] = [];

  afterAll(async () => {
    await cluster?.closeAll();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('keeps every group in one log per node and every acknowledged write across a full restart', async () => {
    for (let i = 0; i < 3; i++) dirs.push(await mkdtemp(join(tmpdir(), 'imdgo-grid-e2e-')));
    cluster = await startCluster(3, { partitions: PARTITIONS, replicas: 3 }, {}, (i) => ({
      dataDir: dirs[i],
    }));
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
    const keys = Array.from({ length: 40 }, (_, i) => `durable-${i}`);
    await Promise.all(keys.map((key, i) => cluster!.nodes[i % 3]!.store.map<number>('d').set(key, i)));
    for (const dir of dirs) {
      expect((await readdir(dir)).sort()).toEqual(['imdgo-format.json', 'incarnation', 'node-wal']);
      // One segment for the coordination group and every partition.
      expect((await readdir(join(dir, 'node-wal', 'log'))).filter((n) => n.endsWith('.wal'))).toHaveLength(1);
    }

    for (const node of cluster.nodes) await cluster.close(node);
    await Promise.all(cluster.nodes.map((node) => cluster!.restart(node)));
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
    for (const node of cluster.nodes) {
      const map = node.store.map<number>('d');
      for (const [i, key] of keys.entries()) expect(await map.get(key)).toBe(i);
      expect(await map.size()).toBe(keys.length);
    }
  }, 180_000);

  it('refuses to start on a dataDir of an earlier release or another data format, naming the file', async () => {
    await cluster?.closeAll();
    const [node, dir] = [cluster!.nodes[0]!, dirs[0]!];
    const marker = join(dir, 'imdgo-format.json');
    await writeFile(marker, JSON.stringify({ format: DATA_FORMAT_VERSION + 1, layout: 'partitioned' }));
    await expect(cluster!.restart(node)).rejects.toThrow(
      `${marker}: this data directory is in data format ${DATA_FORMAT_VERSION + 1}, which this imdgo release (format ${DATA_FORMAT_VERSION}) cannot read`,
    );
    // What an earlier release left: its data without a marker.
    await rm(marker);
    await expect(cluster!.restart(node)).rejects.toThrow(
      `${join(dir, 'node-wal')}: this data directory holds imdgo data but no imdgo-format.json: an earlier`,
    );
  }, 60_000);

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

  it('takes memory-mode restarts one after another: each ready node is seated again everywhere', async () => {
    const keys = Array.from({ length: 24 }, (_, i) => `rolling-${i}`);
    await Promise.all(keys.map((key, i) => cluster!.nodes[i % 3]!.store.map<number>('m').set(key, i)));
    for (const index of [2, 0, 1, 2]) {
      const restarted = cluster!.nodes[index]!;
      await cluster!.close(restarted);
      await cluster!.restart(restarted);
      // Ready means the grid can take the next restart: every replica placed here is seated again.
      await restarted.store.ready({ timeoutMs: 60_000 });
    }
    for (const node of cluster!.nodes) {
      const map = node.store.map<number>('m');
      for (const [i, key] of keys.entries()) expect(await map.get(key)).toBe(i);
    }
  }, 300_000);

  it('refuses to remove a member when fewer members than replicas would be left', async () => {
    const [asker, leaving] = cluster!.nodes;
    await expect(asker!.cluster.removeMember(leaving!.id, 1_000)).rejects.toThrow(
      /would leave 2 active members for 3 replicas per partition: add a member first/,
    );
  });
});
