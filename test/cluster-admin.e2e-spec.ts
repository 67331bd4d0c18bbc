import { ImdgoCluster } from 'imdgo';
import { ImdgoMetrics } from 'imdgo/metrics';
import { ImdgoHealthIndicator } from 'imdgo/terminus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

describe('cluster administration, health and metrics', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // The one group's status, transfer and node-level metrics (with partitions they describe the
    // coordination group, and imdgo_keys counts only its keys).
    cluster = await startCluster(3, { partitions: 1 });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('reports the leader view of every member from any node', async () => {
    const leader = await cluster.leader();
    const [follower] = await cluster.followers();
    await follower!.store.set('a', 1);
    const status = await follower!.module.get(ImdgoCluster).status();
    expect(status.nodeId).toBe(leader.id);
    expect(status.leader).toBe(leader.id);
    expect(status.members.map((m) => m.id).sort()).toEqual(cluster.nodes.map((n) => n.id).sort());
    for (const member of status.members) {
      expect(member.matchIndex).not.toBeNull();
      expect(member.lag).toBeGreaterThanOrEqual(0);
    }
    expect(follower!.module.get(ImdgoCluster).localStatus().role).toBe('follower');
  });

  it('transfers leadership to a chosen member, asked from a follower', async () => {
    const leader = await cluster.leader();
    const followers = await cluster.followers();
    const target = followers[1]!;
    const { leader: now } = await followers[0]!.module.get(ImdgoCluster).transferLeadership(target.id);
    expect(now).toBe(target.id);
    await waitFor(() => target.runtime.node.isLeader(), 'the target to lead');
    expect(leader.runtime.node.isLeader()).toBe(false);
    await target.store.set('after-transfer', true);
    expect(await leader.store.get('after-transfer')).toBe(true);
  });

  it('answers health and readiness, and exposes Prometheus metrics', async () => {
    const [follower] = await cluster.followers();
    const health = follower!.module.get(ImdgoHealthIndicator);
    expect(health.isHealthy().imdgo.status).toBe('up');
    expect((await health.isReady('raft')).raft.status).toBe('up');
    for (let i = 0; i < 5; i++) await follower!.store.set(`m${i}`, i);
    await follower!.store.get('m1');
    const text = await follower!.module.get(ImdgoMetrics).registry.metrics();
    expect(text).toMatch(/imdgo_write_seconds_count\{path="forwarded"\} [1-9]/);
    expect(text).toMatch(/imdgo_role\{role="follower"\} 1/);
    expect(text).toMatch(/imdgo_read_index_rounds_total [1-9]/);
    expect(text).toMatch(/imdgo_keys [1-9]/);
    const leaderText = await (await cluster.leader()).module.get(ImdgoMetrics).registry.metrics();
    expect(leaderText).toMatch(/imdgo_peer_replication_lag_entries\{peer="127\.0\.0\.1:\d+"\} \d+/);
    expect(leaderText).toMatch(/imdgo_forwarded_writes_served_total [1-9]/);
  });
});
