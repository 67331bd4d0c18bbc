import { ImdgoFaultInjector } from 'imdgo/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCluster, waitFor, type TestCluster, type TestNode } from './support/cluster.ts';

const MINUTES = 60_000;
const realNow = Date.now.bind(Date);

/**
 * Runs `operation` as a node whose clock is `skewMs` off would: every clock read it makes before its
 * first wait (where a node decides anything locally) sees the skewed time. The nodes share one process,
 * so the skew is lifted before the operation waits on the others.
 */
function skewed<T>(skewMs: number, operation: () => T): T {
  const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs);
  try {
    return operation();
  } finally {
    spy.mockRestore();
  }
}

describe('skewed clocks', () => {
  let cluster: TestCluster;
  let follower: TestNode;

  beforeAll(async () => {
    cluster = await startCluster(3, { faultInjection: true, requestTimeoutMs: 15_000 });
    [follower] = (await cluster.followers()) as [TestNode];
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('never lets a node whose clock runs ahead take a lock still live everywhere else', async () => {
    const leader = await cluster.leader();
    const locks = leader.store.map('locks');
    expect((await locks.putIfAbsent('job', leader.id, { ttl: MINUTES })).applied).toBe(true);
    const taking = skewed(5 * MINUTES, () => follower.store.map('locks').putIfAbsent('job', follower.id));
    const taken = await taking;
    expect(taken.applied).toBe(false);
    expect(taken.current).toBe(leader.id);
  });

  it('answers reads alike on every node at the same applied index, whatever their clocks say', async () => {
    const leader = await cluster.leader();
    await leader.store.set('session', 'token', { ttl: MINUTES });
    for (const node of cluster.nodes) await node.store.get('session');
    for (const skew of [5 * MINUTES, -5 * MINUTES, 0]) {
      for (const node of cluster.nodes) {
        expect(skewed(skew, () => node.store.peek('session'))).toBe('token');
        expect(await skewed(skew, () => node.store.get('session', { consistency: 'local' }))).toBe('token');
      }
    }
  });

  it('does not expire a TTL write early when its writer clock is behind', async () => {
    // Behind by more than the TTL (and less than requestTimeoutMs, which this node also measures with it).
    const written = await skewed(-10_000, () => follower.store.set('behind', 1, { ttl: 5_000 }));
    const acknowledged = realNow();
    const entry = await follower.store.getEntry('behind');
    expect(entry?.value).toBe(1);
    expect(entry!.expiresAt!).toBeGreaterThan(acknowledged);
    expect(entry!.modRevision).toBe(written.revision);
  });

  it('does not acknowledge a TTL write already expired when its retries outlasted the TTL', async () => {
    const others = cluster.nodes.filter((n) => n !== follower).map((n) => n.id);
    follower.module.get(ImdgoFaultInjector).block(others);
    for (const node of cluster.nodes)
      if (node !== follower) node.module.get(ImdgoFaultInjector).block([follower.id]);
    const started = realNow();
    const writing = follower.store.set('retried', 'v', { ttl: 3_000 });
    // The write keeps being retried while the writer is cut off, for longer than its TTL.
    await waitFor(() => realNow() - started > 4_000, 'retries outlasting the TTL');
    for (const node of cluster.nodes) node.module.get(ImdgoFaultInjector).heal();
    await writing;
    const entry = await follower.store.getEntry('retried');
    expect(entry?.value).toBe('v');
    expect(entry!.expiresAt!).toBeGreaterThan(started + 4_000);
  });
});
