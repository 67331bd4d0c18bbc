import { firstValueFrom, filter } from 'rxjs';
import type { ElectionLeader, ImdgoLock } from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster, type TestNode } from './support/cluster.ts';

const SESSION_TTL_MS = 1_500;

/** Owners queued for `name`, as `node` has applied the lock table. */
function waiters(node: TestNode, name: string): number {
  const row = node.runtime.node.machine.locks
    .export()
    .locks.find(([space, n]) => space === 'imdgo:locks' && n === name);
  return row?.[3].length ?? 0;
}

/** Settles with the promise's value, or 'pending' if it has not settled by the time the event loop idles. */
async function peek<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('locks, sessions and elections on three nodes', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(3, { lockSessionTtlMs: SESSION_TTL_MS });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it("hands out a holder of the caller's own: changing it changes no replica", async () => {
    const [a] = cluster.nodes as [TestNode];
    const lock = a.store.lock('own-holder');
    const token = await lock.lock();
    Object.assign(lock.holder()!, { token: token + 1_000, count: 5 });
    expect(lock.holder()).toMatchObject({ token, count: 1 });
    const digests = await waitFor(() => {
      const machines = cluster.nodes.map((node) => node.runtime.node.machine);
      const applied = new Set(machines.map((machine) => machine.appliedIndex));
      return applied.size === 1 && machines.map((machine) => machine.digest());
    }, 'every node at one applied index');
    expect(new Set(digests).size).toBe(1);
    await lock.unlock();
  });

  it('grants fencing tokens in FIFO order, reentrant per lock object, woken by the release', async () => {
    const [a, b, c] = cluster.nodes as [TestNode, TestNode, TestNode];
    const first = a.store.lock('orders');
    const token = await first.lock();
    // Reentrant for the same object: the same token, and one unlock per lock.
    expect(await first.lock()).toBe(token);
    // Another object is another owner, even on the same node.
    expect(await a.store.lock('orders').tryLock()).toBeNull();

    const onB = b.store.lock('orders');
    const gotB = onB.lock();
    await waitFor(() => waiters(a, 'orders') === 1, 'b queued');
    const onC = c.store.lock('orders');
    const gotC = onC.lock();
    await waitFor(() => waiters(a, 'orders') === 2, 'c queued behind b');

    await first.unlock();
    expect(first.holder()?.count).toBe(1);
    expect(await peek(gotB)).toBe('pending');
    await first.unlock();
    const tokenB = await gotB;
    expect(tokenB).toBeGreaterThan(token);
    expect(onB.isHeld()).toBe(true);
    expect(await peek(gotC)).toBe('pending');
    await onB.unlock();
    const tokenC = await gotC;
    expect(tokenC).toBeGreaterThan(tokenB);
    for (const node of cluster.nodes) {
      await waitFor(
        () => node.runtime.node.machine.locks.holder('imdgo:locks', 'orders')?.token === tokenC,
        'c holds',
      );
    }
    await onC.unlock();
    await expect(onC.unlock()).rejects.toThrow(/not held by this lock object/);
  });

  it('gives up a tryLock after waitMs, leaving the queue, and releases with `await using`', async () => {
    const [a, b] = cluster.nodes as [TestNode, TestNode];
    let outer: ImdgoLock | undefined;
    {
      await using held = a.store.lock('report');
      outer = held;
      await held.lock();
      const started = Date.now();
      expect(await b.store.lock('report').tryLock({ waitMs: 200 })).toBeNull();
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(waiters(b, 'report')).toBe(0);
    }
    expect(outer.holder()).toBeNull();
    expect(await b.store.lock('report').tryLock({ waitMs: 1_000 })).toEqual(expect.any(Number));
    await expect(b.store.lock('report').tryLock({ waitMs: -1 })).rejects.toThrow(/waitMs must be/);
  });

  it('elects one leader, seen alike on every node, and hands over on resign with a higher token', async () => {
    const candidates = cluster.nodes.map((node) => node.store.election('scheduler'));
    const campaigns = candidates.map((candidate) => candidate.campaign());
    const firstToken = await Promise.race(campaigns);
    const leaders = () => candidates.filter((candidate) => candidate.isLeader());
    expect(leaders()).toHaveLength(1);
    const leader = leaders()[0]!;
    for (const node of cluster.nodes) {
      const view = await waitFor(() => node.store.election('scheduler').leader() ?? false, 'a leader');
      expect(view.token).toBe(firstToken);
    }
    const next = firstValueFrom(
      cluster.nodes[0]!.store.election('scheduler').leader$.pipe(
        filter((view): view is ElectionLeader => view !== null && view.token !== firstToken),
      ),
    );
    await leader.resign();
    const successor = await next;
    expect(successor.token).toBeGreaterThan(firstToken!);
    await waitFor(() => leaders().length === 1 && leaders()[0] !== leader, 'the next leader');
    for (const candidate of candidates) await candidate.resign();
    await Promise.all(campaigns);
  });

  it('releases what a crashed node held once its session expires, on every node, to the next in line', async () => {
    const [follower] = await cluster.followers();
    const crashing = follower!;
    const survivor = cluster.nodes.find((node) => node !== crashing && !node.closed)!;
    const token = await crashing.store.lock('nightly').lock();
    const election = crashing.store.election('nightly-leader');
    await election.campaign();
    const waiting = survivor.store.lock('nightly').lock();
    await waitFor(() => waiters(survivor, 'nightly') === 1, 'the survivor queued');
    const ended: string[] = [];
    // The coordination group's changes (with partitions, changes$ carries only the partitions' keys).
    const subscription = survivor.runtime.coordinationChanges$
      .pipe(filter((change) => change.map === 'imdgo:lock-sessions' && change.type !== 'set'))
      .subscribe((change) => ended.push(change.key));

    // A crash: the node stops at once, without closing its session.
    const crashedAt = Date.now();
    await crashing.runtime.node.stop();
    const next = await waiting;
    const tookMs = Date.now() - crashedAt;
    expect(next).toBeGreaterThan(token);
    // Not before the TTL (less the renewal interval it may have been into), well within twice it.
    expect(tookMs).toBeGreaterThanOrEqual(SESSION_TTL_MS - SESSION_TTL_MS / 3 - 100);
    expect(tookMs).toBeLessThan(2 * SESSION_TTL_MS + 2_000);
    expect(survivor.store.election('nightly-leader').leader()).toBeNull();
    expect(ended).toHaveLength(1);
    subscription.unsubscribe();
    await cluster.close(crashing);
  });
});

describe('a graceful shutdown', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(3, { lockSessionTtlMs: 30_000 });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('closes the lock session of the node, releasing its locks at once rather than after the TTL', async () => {
    const [leaving] = await cluster.followers();
    const staying = cluster.nodes.find((node) => node !== leaving)!;
    const token = await leaving!.store.lock('handover').lock();
    const waiting = staying.store.lock('handover').lock();
    await waitFor(() => waiters(staying, 'handover') === 1, 'queued');
    const started = Date.now();
    await cluster.close(leaving!);
    expect(await waiting).toBeGreaterThan(token);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(() => staying.store.map('imdgo:locks')).toThrow(/reserved/);
  });
});
