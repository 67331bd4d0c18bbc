import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactedError } from 'imdgo';
import { ImdgoMetrics } from 'imdgo/metrics';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitFor, waitForVoters, type TestCluster, type TestNode } from './support/cluster.ts';

async function metric(node: TestNode, pattern: RegExp): Promise<number> {
  const text = await node.module.get(ImdgoMetrics).registry.metrics();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

async function writeMany(node: TestNode, count: number, prefix: string, concurrency = 500): Promise<void> {
  for (let start = 0; start < count; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - start) }, (_, i) =>
      node.store.set(`${prefix}${start + i}`, start + i),
    );
    await Promise.all(batch);
  }
}

describe('durability, snapshots and membership', () => {
  let cluster: TestCluster | null = null;
  const dirs: string[] = [];

  async function dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'imdgo-e2e-'));
    dirs.push(dir);
    return dir;
  }

  afterEach(async () => {
    await cluster?.closeAll();
    cluster = null;
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('catches a follower up through a snapshot after 50k writes', async () => {
    // One group's snapshot and catch-up.
    cluster = await startCluster(3, { partitions: 1, snapshotThreshold: 2_000 });
    const leader = await cluster.leader();
    const [follower] = await cluster.followers();
    await cluster.close(follower!);
    await writeMany(leader, 50_000, 'bulk:');
    await cluster.restart(follower!);
    await waitFor(() => follower!.store.peek('bulk:49999') === 49_999, 'the follower to catch up', 30_000);
    await waitForVoters(cluster.nodes, 3);
    // The follower installed a snapshot. The leader's count of completed transfers is not asserted: the
    // restarted member, empty, is re-admitted while the snapshot (taken on demand) streams, and that
    // configuration change closes the link under the last chunk's answer, so the leader may count as
    // failed a transfer that arrived.
    expect(
      await metric(follower!, /imdgo_snapshot_transfers_total\{direction="installed"\} (\d+)/),
    ).toBeGreaterThanOrEqual(1);
    expect(await follower!.store.size()).toBe(50_000);
    expect(follower!.runtime.node.localStatus().lastIndex).toBeGreaterThan(50_000);
  }, 120_000);

  it('keeps every acknowledged write when the whole cluster stops and restarts with dataDir', async () => {
    const dirsByNode = [await dataDir(), await dataDir(), await dataDir()];
    // Reads the one revision sequence back from revision 1 (partitioned-durability covers the grid).
    cluster = await startCluster(3, { partitions: 1, snapshotThreshold: 500 }, {}, (i) => ({
      dataDir: dirsByNode[i],
    }));
    const [follower] = await cluster.followers();
    await writeMany(follower!, 2_000, 'kept:', 100);
    for (const node of cluster.nodes) await cluster.close(node);
    for (const node of cluster.nodes) await cluster.restart(node);
    await cluster.leader();
    for (const node of cluster.nodes) {
      expect(await node.store.get('kept:0')).toBe(0);
      expect(await node.store.get('kept:1999')).toBe(1999);
      expect(await node.store.size()).toBe(2_000);
      // Restarted from a snapshot: the changes it covers cannot be replayed, and a watch says so.
      await expect(firstValueFrom(node.store.watch('kept:*', { fromRevision: 1 }))).rejects.toBeInstanceOf(
        CompactedError,
      );
    }
  }, 60_000);

  it('grows 3 → 5 and shrinks 5 → 3 under a write load without losing an acknowledged write', async () => {
    // Grows and shrinks the one group's members (partitioned members are fixed for now).
    cluster = await startCluster(3, { partitions: 1 });
    const original = [...cluster.nodes];
    const acknowledged = new Map<string, number>();
    const stopWriting = new AbortController();
    let counter = 0;
    const writer = original[0]!;
    const load = (async () => {
      while (!stopWriting.signal.aborted) {
        const key = `load:${counter % 200}`;
        const value = counter++;
        await writer.store.set(key, value);
        acknowledged.set(key, value);
      }
    })();
    // The changes must overlap the load: start them once writes flow, stop it only after more went through.
    await waitFor(() => counter >= 20, '20 writes before the changes', 30_000);
    const added = [await cluster.addNode(), await cluster.addNode()];
    await waitForVoters(cluster.nodes, 5);
    // Remove two of the original members, the leader among them if it is not the writer's node.
    const leader = await cluster.leader();
    const victims = [
      leader === writer ? original[1]! : leader,
      original[2] === leader ? original[1]! : original[2]!,
    ];
    for (const victim of new Set(victims)) {
      await writer.cluster.removeMember(victim.id);
      await cluster.close(victim);
    }
    await waitForVoters(cluster.nodes, 3);
    const afterChanges = counter;
    await waitFor(() => counter >= afterChanges + 20, '20 writes after the changes', 30_000);
    stopWriting.abort();
    await load;
    for (const node of cluster.nodes.filter((n) => !n.closed)) {
      for (const [key, value] of acknowledged) expect(await node.store.get(key)).toBe(value);
    }
    expect(added.every((n) => !n.closed)).toBe(true);
  }, 60_000);

  it('does not let a memory-mode node that lost its memory elect a leader that lacks an acknowledged write', async () => {
    const [dirA, dirB] = [await dataDir(), await dataDir()];
    // One group's votes (isLeader of the group that holds w): partitioned-durability covers the grid.
    cluster = await startCluster(3, { partitions: 1, requestTimeoutMs: 1_500 }, {}, (i) =>
      i < 2 ? { dataDir: [dirA, dirB][i] } : {},
    );
    const [a, b, x] = cluster.nodes as [TestNode, TestNode, TestNode];
    await cluster.close(b);
    await a.store.set('w', 'acknowledged'); // committed by a and x only
    await cluster.close(x);
    await cluster.restart(x); // memory mode: x comes back empty
    await cluster.close(a);
    await cluster.restart(b); // b never saw w
    // x must not vote for b as if it still held w: no leader can form from b and x.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(b.runtime.node.isLeader() || x.runtime.node.isLeader()).toBe(false);
    await expect(b.store.get('w')).rejects.toThrow(/no leader|did not complete/);
    await cluster.restart(a);
    await cluster.leader();
    expect(await b.store.get('w')).toBe('acknowledged');
    await waitForVoters(cluster.nodes, 3);
    expect(await x.store.get('w')).toBe('acknowledged');
  }, 60_000);
});
