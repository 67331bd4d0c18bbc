import { afterEach, describe, expect, it } from 'vitest';
import { VIRTUAL_ELECTION_TICKS, VIRTUAL_TICK_MS, VirtualCluster } from './virtual-cluster.ts';

const ELECTION_MS = VIRTUAL_ELECTION_TICKS * VIRTUAL_TICK_MS;
const MEMBERS = ['a:7000', 'b:7000', 'c:7000'];

describe('a leader that goes silent without closing a connection', () => {
  let cluster: VirtualCluster;

  afterEach(async () => {
    await cluster.stop();
  });

  it('is replaced within two election timeouts of its last heartbeat', async () => {
    cluster = new VirtualCluster(MEMBERS, 30_000);
    const old = await cluster.start();
    cluster.pause(old.id);
    const pausedAt = cluster.time.now;
    const others = [...cluster.nodes.values()].filter((n) => n !== old);
    await cluster.runUntil(() => others.some((n) => n.isLeader()), 'new leader');
    // Its last heartbeat went out at most a tick before the pause; the randomized timeout is below 2×.
    expect(cluster.time.now - pausedAt).toBeLessThan(2 * ELECTION_MS + VIRTUAL_TICK_MS);
  });

  it('is not deposed by a follower that resumes after a stall of many election timeouts', async () => {
    cluster = new VirtualCluster(MEMBERS, 30_000);
    const leader = await cluster.start();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    const term = leader.localStatus().term;
    const process = cluster.processes.get(follower.id)!;
    process.pausedUntil = cluster.time.now + 5 * ELECTION_MS;
    const resumed = process.pausedUntil;
    await cluster.runUntil(() => cluster.time.now > resumed + 3 * ELECTION_MS, 'three election timeouts');
    expect(leader.isLeader()).toBe(true);
    expect(follower.localStatus()).toMatchObject({ term, leader: leader.id });
  });
});
