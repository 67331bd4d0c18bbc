import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster } from '../chaos/cluster.ts';
import { ensureBuilt } from './support/ensure-built.ts';

const ADMIT_BOUND_MS = 30_000;
const POLL_MS = 100;

describe('chaos cluster: which nodes count towards a majority', () => {
  let runDir: string;
  let cluster: ChaosCluster;

  beforeAll(async () => {
    ensureBuilt('dist/chaos/node.js', ['libs/imdgo/src', 'chaos']);
    runDir = mkdtempSync(join(tmpdir(), 'imdgo-admission-'));
    cluster = await ChaosCluster.start({
      size: 3,
      mode: 'data',
      runDir,
      tickMs: 30,
      electionTicks: 10,
      requestTimeoutMs: 2_000,
      snapshotThreshold: 1_000,
      lockSessionTtlMs: 3_000,
      breakage: null,
      network: null,
      partitions: 1,
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stopAll();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('counts a node restarted from its data only once it is seen ready (seed 1427155951: the leader was cut off while it still started)', async () => {
    const leader = (await cluster.leader())!;
    expect(leader).not.toBeNull();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    await cluster.kill(follower);
    await cluster.restart(follower);
    const others = cluster.nodes.filter((n) => n.id !== leader.id);
    await cluster.cut(others.map((n) => [leader, n] as const));
    // The other follower and the restarted one could form a majority, but the restarted one has not been
    // seen ready: a stall now would be its start-up, not the cluster's.
    expect(cluster.majorityConnected()).toBe(false);

    // Once the two elect a leader, the restarted node reports ready and counts again.
    const deadline = Date.now() + ADMIT_BOUND_MS;
    while (!cluster.majorityConnected() && Date.now() < deadline) {
      await cluster.checkAdmissions();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    expect(cluster.majorityConnected()).toBe(true);
    await cluster.healNetwork();
  }, 60_000);
});
