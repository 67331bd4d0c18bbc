import { afterEach, describe, expect, it } from 'vitest';
import { RequestTimeoutError } from '../errors.ts';
import { PeerTransportError } from '../transport/peer-transport-error.ts';
import { NodeCluster, until } from './testing/node-cluster.ts';

describe('RaftNode membership changes', () => {
  let cluster: NodeCluster;

  afterEach(async () => {
    await cluster.stopAll();
  });

  it('reports a retried removal as done when its first attempt, whose reply was lost, made it', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    let asker = '';
    let attempts = 0;
    const leader = await cluster.startAll((id) => ({
      wrapTransport: (inner) => ({
        start: () => inner.start(),
        stop: () => inner.stop(),
        send: (to, message) => inner.send(to, message),
        onMessage: (handler) => inner.onMessage(handler),
        onRequest: (handler) => inner.onRequest(handler),
        onPeerDown: (handler) => inner.onPeerDown(handler),
        retain: (members) => inner.retain?.(members),
        async request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T> {
          const first = id === asker && (payload as { kind?: string }).kind === 'config' && ++attempts === 1;
          const reply = await inner.request<T>(to, payload, timeoutMs);
          if (first) {
            // The leader made the change, but its answer is lost on the way back.
            throw new PeerTransportError('timeout', to, `request to ${to} timed out`);
          }
          return reply;
        },
      }),
    }));
    const [follower, removed] = [...cluster.nodes.keys()].filter((id) => id !== leader.id) as [
      string,
      string,
    ];
    asker = follower;
    await expect(
      cluster.node(follower).changeMembership({ type: 'remove', id: removed }),
    ).resolves.toBeUndefined();
    expect(attempts).toBe(2);
    await until(
      () => !leader.localStatus().members.some((member) => member.id === removed),
      `${removed} removed in the leader's configuration`,
    );
  });

  // Placement hands leaderships over and moves replicas off leaders: a transfer toward a member that went
  // down must not hold the partition's move for the whole request timeout.
  it('fails a leadership transfer the leader gave up (its target is down) at once, not at the request timeout', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const leader = await cluster.startAll();
    const target = [...cluster.nodes.keys()].find((id) => id !== leader.id)!;
    await cluster.node(target).stop();
    cluster.nodes.delete(target);
    const began = Date.now();
    await expect(leader.transferLeadership(target)).rejects.toThrow(RequestTimeoutError);
    // An election timeout is 50 ms here; the request timeout 30 s.
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(leader.isLeader()).toBe(true);
  });
});
