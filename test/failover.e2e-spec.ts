import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

describe('leader failure', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(3);
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('elects a new leader, keeps taking writes and loses nothing acknowledged', async () => {
    const acknowledged = new Map<string, number>();
    const [writer] = await cluster.followers();
    for (let i = 0; i < 50; i++) {
      await writer!.store.set(`k${i}`, i);
      acknowledged.set(`k${i}`, i);
    }
    const oldLeader = await cluster.leader();
    // Writes keep flowing from the surviving follower while the leader goes away.
    const writing = (async () => {
      for (let i = 50; i < 150; i++) {
        await writer!.store.set(`k${i}`, i);
        acknowledged.set(`k${i}`, i);
      }
    })();
    await cluster.close(oldLeader);
    await writing;
    const newLeader = await cluster.leader();
    expect(newLeader.id).not.toBe(oldLeader.id);
    for (const node of cluster.nodes.filter((n) => !n.closed)) {
      for (const [key, value] of acknowledged) expect(await node.store.get(key)).toBe(value);
    }
  });

  it('fails a write with a clear error when no majority is left', async () => {
    const survivors = cluster.nodes.filter((n) => !n.closed);
    await cluster.close(survivors[0]!);
    const alone = survivors[1]!;
    await waitFor(() => !alone.runtime.node.isLeader(), 'the lone node to step down', 5_000);
    const started = Date.now();
    await expect(alone.store.set('orphan', 1)).rejects.toThrow(/no leader|did not complete/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
  });
});
