import { RaftNode } from '../../src/driver/raft-node.ts';
import { SeededRandom } from '../../src/raft/random.ts';
import type { NodeId } from '../../src/raft/types.ts';
import type { ChangeEvent } from '../../src/state-machine/change-event.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { SimNetwork } from '../sim-network.ts';
import { SimWire } from './sim-transport.ts';
import { SimProcess, VirtualTime } from './virtual-time.ts';

export const VIRTUAL_TICK_MS = 10;
export const VIRTUAL_ELECTION_TICKS = 10;

/**
 * Production drivers on virtual time over a lossless 1 ms network: every run of a test is the same run.
 * Member ids are `host:port`, as the production transport's are.
 */
export class VirtualCluster {
  readonly time = new VirtualTime();
  readonly wire = new SimWire(
    this.time,
    new SimNetwork(new SeededRandom(1), {
      lossRate: 0,
      duplicateRate: 0,
      minDelayMs: 1,
      maxDelayMs: 1,
      longDelayRate: 0,
      longDelayMaxMs: 0,
    }),
  );
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly processes = new Map<NodeId, SimProcess>();
  readonly changes = new Map<NodeId, ChangeEvent[]>();
  /** Per node, the virtual times at which it learned of a new leader (or of none). */
  readonly leaderSeen = new Map<NodeId, { at: number; leader: NodeId | null }[]>();

  constructor(members: readonly NodeId[], requestTimeoutMs: number) {
    members.forEach((id, i) => {
      const process = new SimProcess(this.time);
      const changes: ChangeEvent[] = [];
      const seen: { at: number; leader: NodeId | null }[] = [];
      const node = new RaftNode({
        id,
        members,
        incarnation: `${id}.1`,
        snapshotThreshold: 1000,
        storeLimit: null,
        maxPendingWrites: 1000,
        transport: this.wire.transport(id, process),
        storage: new MemoryStorage(),
        tickMs: VIRTUAL_TICK_MS,
        electionTicks: VIRTUAL_ELECTION_TICKS,
        heartbeatTicks: 1,
        requestTimeoutMs,
        random: new SeededRandom(i + 1),
        onChange: (change) => changes.push(change),
        onRoleChange: (state) => seen.push({ at: this.time.now, leader: state.leader }),
        scheduler: process,
        sessionClient: `client-${id}`,
      });
      this.nodes.set(id, node);
      this.processes.set(id, process);
      this.changes.set(id, changes);
      this.leaderSeen.set(id, seen);
    });
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Starts every node and runs until one leads with every member a voter that knows it is one. */
  async start(): Promise<RaftNode> {
    await Promise.all([...this.nodes.values()].map((node) => node.start()));
    await this.runUntil(() => {
      const leader = this.leader();
      if (!leader) return false;
      const status = leader.localStatus();
      const voters = status.members.filter((m) => m.voter).length;
      const applied = [...this.nodes.values()].every((n) => n.machine.appliedIndex === status.lastIndex);
      return voters === this.nodes.size && applied;
    }, 'a leader with every member a voter, all caught up');
    return this.leader()!;
  }

  leader(): RaftNode | null {
    return [...this.nodes.values()].find((node) => node.isLeader()) ?? null;
  }

  /** SIGSTOP: the process runs nothing, and no connection closes. */
  pause(id: NodeId): void {
    this.processes.get(id)!.pausedUntil = Number.POSITIVE_INFINITY;
  }

  /** Runs virtual time until `condition` holds, failing after `withinMs` of it. */
  async runUntil(condition: () => boolean, what: string, withinMs = 60_000): Promise<void> {
    const deadline = this.time.now + withinMs;
    while (!condition()) {
      if (this.time.now > deadline || !(await this.time.step()))
        throw new Error(`no ${what} within ${withinMs} virtual ms`);
    }
  }

  /** Runs virtual time until `promise` settles; returns its outcome and the virtual time it settled at. */
  async settle<T>(promise: Promise<T>, withinMs = 60_000): Promise<{ outcome: T | Error; at: number }> {
    let settled: { outcome: T | Error; at: number } | null = null;
    promise.then(
      (outcome) => (settled = { outcome, at: this.time.now }),
      (error: Error) => (settled = { outcome: error, at: this.time.now }),
    );
    await this.runUntil(() => settled !== null, 'settled call', withinMs);
    return settled!;
  }

  async stop(): Promise<void> {
    for (const process of this.processes.values()) process.crash();
    await Promise.all([...this.nodes.values()].map((node) => node.stop()));
  }
}
