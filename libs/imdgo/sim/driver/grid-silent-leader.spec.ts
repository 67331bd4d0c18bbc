import { describe, expect, it } from 'vitest';
import type { Raft } from '../../src/raft/raft.ts';
import { GridCluster } from './grid-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];
const PARTITIONS = 6;
// Chaos's timing: a 30 ms tick, so the election timeout (300 ms) is far from any fixed default.
const TICK_MS = 30;
const ELECTION_TICKS = 10;
const ELECTION_MS = TICK_MS * ELECTION_TICKS;

describe('a quiet partition leader that goes silent without closing a connection', () => {
  it('is replaced within one election timeout of silence, a beat, and an election', async () => {
    const cluster = new GridCluster({
      members: MEMBERS,
      partitions: PARTITIONS,
      replicas: 3,
      seed: 23,
      tuning: { tickMs: TICK_MS, electionTicks: ELECTION_TICKS },
    });
    cluster.startAll();
    await cluster.runUntil(() => cluster.everyPartitionLed(), 'every partition led');
    await cluster.runFor(50 * ELECTION_MS);
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
    const quiet = (p: number) =>
      MEMBERS.every((id) => (cluster.node(id).replica(p) as unknown as { raft: Raft }).raft.quiesced);
    expect(partitions.filter((p) => !quiet(p))).toEqual([]);

    const silent = MEMBERS.find((id) => partitions.some((p) => cluster.node(id).replica(p)!.isLeader()))!;
    const led = partitions.filter((p) => cluster.node(silent).replica(p)!.isLeader());
    // Its timers and deliveries hold: no frame leaves it, and no connection closes.
    cluster.processes.get(silent)!.pausedUntil = Number.POSITIVE_INFINITY;
    const silentFrom = cluster.time.now;
    const others = MEMBERS.filter((id) => id !== silent);
    await cluster.runUntil(
      () => led.every((p) => others.some((id) => cluster.node(id).replica(p)!.isLeader())),
      `the partitions ${silent} led elect`,
      20 * ELECTION_MS,
    );
    // Silence noticed after an election timeout (checked each beat, one heartbeat interval), then a
    // randomized election timeout below 2x, a tick's rounding and a round trip of votes.
    expect(cluster.time.now - silentFrom).toBeLessThan(ELECTION_MS + TICK_MS + 2 * ELECTION_MS + 2 * TICK_MS);
  }, 60_000);
});
