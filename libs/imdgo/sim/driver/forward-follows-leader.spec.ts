import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/raft/types.ts';
import { VirtualCluster, VIRTUAL_TICK_MS } from './virtual-cluster.ts';

const set = (key: string, value: unknown) => ({ op: 'set', map: '', key, value }) as const;

/** When `id` first learned, after `since`, of a leader other than `old`. */
function newLeaderKnownAt(cluster: VirtualCluster, id: NodeId, old: NodeId, since: number): number {
  const seen = cluster.leaderSeen
    .get(id)!
    .find((s) => s.at >= since && s.leader !== null && s.leader !== old);
  if (!seen) throw new Error(`${id} never learned of a new leader`);
  return seen.at;
}

describe('a call forwarded to a leader that stops leading', () => {
  let cluster: VirtualCluster;

  afterEach(async () => {
    await cluster.stop();
  });

  it('goes to the new leader as soon as the follower knows it, not after its attempt timeout', async () => {
    cluster = new VirtualCluster(['a:7000', 'b:7000', 'c:7000'], 30_000);
    const old = await cluster.start();
    const follower = [...cluster.nodes.values()].find((n) => n !== old)!;
    await cluster.settle(follower.write(set('warm', 1)));
    // SIGSTOP: no connection closes, the forwarded write waits at a leader that will never answer.
    cluster.pause(old.id);
    const pausedAt = cluster.time.now;
    const { outcome, at } = await cluster.settle(follower.write(set('k', 'after the pause')));
    expect(outcome).toMatchObject({ applied: true });
    const known = newLeaderKnownAt(cluster, follower.id, old.id, pausedAt);
    // A few network hops and one commit: far less than the attempt timeout (two election timeouts).
    expect(at - known).toBeLessThanOrEqual(3 * VIRTUAL_TICK_MS);
  });

  it('is applied once when the old leader applied it and only its answer was lost', async () => {
    cluster = new VirtualCluster(['a:7000', 'b:7000', 'c:7000'], 30_000);
    const old = await cluster.start();
    const [follower, other] = [...cluster.nodes.values()].filter((n) => n !== old);
    if (!follower || !other) throw new Error('three nodes expected');
    // The follower reaches the old leader, which answers nothing back: the write commits through `other`.
    cluster.wire.network.blockOneWay(old.id, follower.id);
    const write = follower.write(set('k', 'once'));
    const appliedByOld = () => cluster.changes.get(old.id)!.filter((c) => c.key === 'k');
    await cluster.runUntil(() => appliedByOld().length === 1, 'the old leader applying the write');
    const revision = appliedByOld()[0]!.revision;
    cluster.pause(old.id);
    const { outcome } = await cluster.settle(write);
    expect(other.isLeader()).toBe(true);
    // The retry to the new leader carried the same session stamp: the first result, not a second write.
    expect(outcome).toMatchObject({ applied: true, revision });
    await cluster.runUntil(
      () => cluster.changes.get(follower.id)!.some((c) => c.key === 'k'),
      'the follower applying the write',
    );
    for (const id of [follower.id, other.id]) {
      expect(cluster.changes.get(id)!.filter((c) => c.key === 'k')).toHaveLength(1);
    }
  });
});
