import { afterEach, describe, expect, it, vi } from 'vitest';
import { NoLeaderError } from '../errors.ts';
import type { Raft } from '../raft/raft.ts';
import type { RaftNode } from './raft-node.ts';
import { NodeCluster, until } from './testing/node-cluster.ts';

/** The driver's private parts a test observes. */
const internals = (node: RaftNode) => node as unknown as { raft: Raft; ticks: number };

describe('RaftNode reads', () => {
  let cluster: NodeCluster;

  afterEach(async () => {
    await cluster.stopAll();
  });

  it('parks reads while no leader is known instead of retrying them in a busy loop', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    // b and c never start: a probes for a cluster and never learns of a leader.
    const node = await cluster.start('a:1', { requestTimeoutMs: 300 });
    const readIndex = vi.spyOn(internals(node).raft, 'readIndex');
    const processes = vi.spyOn(node as unknown as { process: () => Promise<void> }, 'process');
    const ticksBefore = internals(node).ticks;
    await expect(node.linearizableBarrier()).rejects.toBeInstanceOf(NoLeaderError);
    const ticks = internals(node).ticks - ticksBefore;
    expect(ticks).toBeGreaterThan(0);
    // Each tick schedules one turn; a read retried every turn would add thousands.
    expect(readIndex.mock.calls.length).toBeLessThanOrEqual(1);
    expect(processes.mock.calls.length).toBeLessThanOrEqual(2 * ticks + 5);
  });

  it('serves a parked read once a leader is known', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const c = await cluster.start('c:1');
    const read = c.linearizableBarrier();
    await cluster.start('a:1');
    await cluster.start('b:1');
    await expect(read).resolves.toBeUndefined();
    expect(internals(c).raft.leader).not.toBeNull();
  });

  it("makes a new leader's `leader` reads wait until it has applied its own term's first entry", async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const readsAtElection: Promise<unknown>[] = [];
    let armed = false;
    const old = await cluster.startAll((id) => ({
      onRoleChange: (state) => {
        // The first thing a client may do on the new leader: read before its no-op is committed.
        if (armed && state.role === 'leader') {
          readsAtElection.push(
            cluster
              .node(id)
              .leaderRead('', 'x')
              .then((record) => record?.value),
          );
        }
      },
    }));
    await old.write({ op: 'set', map: '', key: 'x', value: 'acknowledged' });
    // The messages telling the followers that x is committed are still in flight: they are lost.
    cluster.isolate(old.id);
    armed = true;
    await until(() => readsAtElection.length > 0, 'a new leader');
    expect(await readsAtElection[0]).toBe('acknowledged');
  });
});
