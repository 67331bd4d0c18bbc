import { Logger } from '@nestjs/common';
import { SeededRandom } from '../../raft/random.ts';
import type { ChangeEvent } from '../../state-machine/change-event.ts';
import { MemoryStorage } from '../../storage/memory-storage.ts';
import { MemoryHub, MemoryTransport } from '../../transport/memory-transport.ts';
import type { PeerTransport } from '../../transport/peer-transport.ts';
import { RaftNode, type RaftNodeOptions } from '../raft-node.ts';

/** What a test may change of a node; the rest are small, fast defaults. */
export type TestNodeOptions = Partial<Omit<RaftNodeOptions, 'id' | 'members' | 'transport'>> & {
  /** Wraps the node's in-memory transport, to drop or rewrite what passes. */
  readonly wrapTransport?: (transport: PeerTransport) => PeerTransport;
};

/** Nodes of one in-process cluster on a MemoryHub, each with its own change log. */
export class NodeCluster {
  readonly hub = new MemoryHub();
  readonly nodes = new Map<string, RaftNode>();
  readonly changes = new Map<string, ChangeEvent[]>();
  private readonly members: readonly string[];

  constructor(members: readonly string[]) {
    this.members = members;
    if (!process.env.IMDGO_TEST_LOGS) Logger.overrideLogger(false);
  }

  node(id: string): RaftNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`${id} is not running`);
    return node;
  }

  async start(id: string, options: TestNodeOptions = {}): Promise<RaftNode> {
    const { wrapTransport, ...overrides } = options;
    const memory = new MemoryTransport(this.hub, id);
    const changes: ChangeEvent[] = [];
    this.changes.set(id, changes);
    const node = new RaftNode({
      id,
      members: this.members,
      incarnation: `${id}-${Math.random()}`,
      snapshotThreshold: 1000,
      storeLimit: null,
      maxPendingWrites: 1000,
      transport: wrapTransport ? wrapTransport(memory) : memory,
      storage: new MemoryStorage(),
      tickMs: 5,
      electionTicks: 10,
      heartbeatTicks: 1,
      requestTimeoutMs: 30_000,
      random: new SeededRandom(this.members.indexOf(id) + 1),
      onChange: (change) => changes.push(change),
      ...overrides,
    });
    this.nodes.set(id, node);
    await node.start();
    return node;
  }

  /** Starts every member and waits until all are voters under one leader. */
  async startAll(options: (id: string) => TestNodeOptions = () => ({})): Promise<RaftNode> {
    for (const id of this.members) await this.start(id, options(id));
    await until(() => {
      const leader = this.leader();
      return (
        leader !== null && leader.localStatus().members.filter((m) => m.voter).length === this.members.length
      );
    }, 'every member a voter under one leader');
    return this.leader()!;
  }

  /** Cuts every link between `id` and the other members, until `hub.heal()`. */
  isolate(id: string): void {
    for (const other of this.members) if (other !== id) this.hub.disconnect(id, other);
  }

  /** Waits until every running node has applied everything in the leader's log. */
  async caughtUp(): Promise<void> {
    await until(() => {
      const last = this.leader()?.localStatus().lastIndex;
      return last !== undefined && [...this.nodes.values()].every((n) => n.machine.appliedIndex === last);
    }, 'every node applies the whole log');
  }

  leader(): RaftNode | null {
    return [...this.nodes.values()].find((n) => n.isLeader()) ?? null;
  }

  async stopAll(): Promise<void> {
    for (const node of this.nodes.values()) await node.stop();
    this.nodes.clear();
  }
}

/** Polls `condition` every few milliseconds until it holds, failing with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
