import { Logger } from '@nestjs/common';
import type { RaftNode } from '../../src/driver/raft-node.ts';
import { COORDINATION_GROUP, GridNode, MAX_COORDINATION_VOTERS } from '../../src/grid/grid-node.ts';
import type { GridChangeEvent, GridGroupTuning, GridNodeOptions } from '../../src/grid/grid-types.ts';
import { SeededRandom } from '../../src/raft/random.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { GRID_TUNING } from '../../src/grid/testing/unstarted-grid-node.ts';
import { SimNetwork, type NetworkFaults } from '../sim-network.ts';
import { SimWire, type Delivery } from './sim-transport.ts';
import { SimProcess, VirtualTime } from './virtual-time.ts';

if (!process.env.IMDGO_TEST_LOGS) Logger.overrideLogger(false);

export { GRID_TUNING };

export interface GridClusterOptions {
  readonly members: readonly string[];
  readonly partitions: number;
  readonly replicas?: number;
  readonly seed: number;
  readonly faults?: NetworkFaults;
  readonly tuning?: Partial<GridGroupTuning>;
  readonly historySize?: number;
  /** Extra options per node process (the simulator's hooks). */
  readonly extra?: (id: string) => Partial<GridNodeOptions>;
}

const CALM: NetworkFaults = {
  lossRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  longDelayRate: 0,
  longDelayMaxMs: 0,
};

/**
 * GridNodes (production GroupHost, RaftNode, MemoryStorage) on virtual time over the simulated network: a
 * node process can crash and restart in memory mode (a new incarnation, empty storage). Every node's change
 * feed is recorded, per process.
 */
export class GridCluster {
  readonly time = new VirtualTime();
  readonly wire: SimWire;
  readonly nodes = new Map<string, GridNode>();
  readonly processes = new Map<string, SimProcess>();
  /** Every event each node's feed emitted, by node id (a restarted node starts a new list). */
  readonly feeds = new Map<string, GridChangeEvent[]>();
  private readonly options: GridClusterOptions;
  private readonly random: SeededRandom;
  private restarts = 0;

  constructor(options: GridClusterOptions) {
    this.options = options;
    this.random = new SeededRandom(options.seed);
    const network = new SimNetwork<Delivery>(new SeededRandom(options.seed + 1), options.faults ?? CALM);
    this.wire = new SimWire(this.time, network);
  }

  get members(): readonly string[] {
    return this.options.members;
  }

  node(id: string): GridNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`${id} is not running`);
    return node;
  }

  /**
   * Starts (or restarts, with empty memory) node `id`, knowing `members` (default the cluster's: a node
   * joining later passes a longer list).
   */
  start(id: string, members: readonly string[] = this.options.members): GridNode {
    const process = new SimProcess(this.time);
    this.processes.set(id, process);
    const events: GridChangeEvent[] = [];
    this.feeds.set(id, events);
    const node = new GridNode({
      id,
      members,
      partitions: this.options.partitions,
      ...(this.options.replicas === undefined ? {} : { replicas: this.options.replicas }),
      transport: this.wire.transport(id, process),
      scheduler: process,
      random: new SeededRandom(this.random.int(2 ** 32)),
      sessionIds: seededSessionIds(new SeededRandom(this.random.int(2 ** 32))),
      storageFor: () => new MemoryStorage(),
      incarnation: `${id}#${this.restarts++}`,
      group: { ...GRID_TUNING, ...this.options.tuning },
      ...(this.options.historySize === undefined ? {} : { historySize: this.options.historySize }),
      ...this.options.extra?.(id),
    });
    node.changes$.subscribe((event) => events.push(event));
    this.nodes.set(id, node);
    void node.start().catch(() => {});
    return node;
  }

  startAll(): void {
    for (const id of this.options.members) this.start(id);
  }

  crash(id: string): void {
    this.processes.get(id)?.crash();
    this.nodes.delete(id);
  }

  alive(): string[] {
    return [...this.nodes.keys()];
  }

  /** Runs every event due in the next `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    const until = this.time.now + ms;
    await new Promise((resolve) => setImmediate(resolve));
    while (this.time.now <= until && (await this.time.step())) {
      // One event and the promise continuations it caused.
    }
  }

  /** Runs until `settled` holds, failing after `ms` of virtual time. */
  async runUntil(settled: () => boolean, what: string, ms = 60_000): Promise<void> {
    const deadline = this.time.now + ms;
    while (!settled()) {
      if (this.time.now > deadline) throw new Error(`never: ${what}`);
      // Nothing due yet: a start still in promise continuations may schedule something once they run.
      if (!(await this.time.step())) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.time.pending === 0) throw new Error(`never (nothing left to run): ${what}`);
      }
    }
  }

  /** Settles `promise` by running virtual time, failing after `ms`. */
  async settle<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
    let outcome: { value: T } | { error: unknown } | null = null;
    promise.then(
      (value) => (outcome = { value }),
      (error: unknown) => (outcome = { error }),
    );
    await this.runUntil(() => outcome !== null, what, ms);
    const done = outcome as unknown as { value: T } | { error: unknown };
    if ('error' in done) throw done.error;
    return done.value;
  }

  /**
   * Every node runs, and every group has one leader whose members are its running replicas, admitted and
   * caught up: all voters, but for the coordination group's learners beyond MAX_COORDINATION_VOTERS.
   */
  fullyReplicated(): boolean {
    if (this.alive().length !== this.options.members.length) return false;
    for (let group = COORDINATION_GROUP; group <= this.options.partitions; group++) {
      const replicas = this.alive()
        .map((id) => groupNode(this.node(id), group))
        .filter((node): node is RaftNode => node !== undefined);
      const leaders = replicas.filter((node) => node.isLeader());
      if (leaders.length !== 1) return false;
      const members = leaders[0]!.localStatus().members;
      if (members.length !== replicas.length || members.some((member) => member.lag !== 0)) return false;
      // The coordination group keeps members beyond MAX_COORDINATION_VOTERS as (admitted) learners.
      const voters =
        group === COORDINATION_GROUP ? Math.min(replicas.length, MAX_COORDINATION_VOTERS) : replicas.length;
      if (members.filter((member) => member.voter).length !== voters) return false;
      if (!replicas.every((node) => node.discoveryPhase() === null)) return false;
    }
    return true;
  }

  /** Every partition has a leader that every running replica agrees on. */
  everyPartitionLed(): boolean {
    for (let p = 0; p < this.options.partitions; p++) {
      const replicas = this.alive()
        .map((id) => this.nodes.get(id)!.replica(p))
        .filter((n) => n !== undefined);
      if (!replicas.some((n) => n.isLeader())) return false;
    }
    return true;
  }
}

/** Node `node`'s member of `group`, if it has started it. */
function groupNode(node: GridNode, group: number): RaftNode | undefined {
  if (group !== COORDINATION_GROUP) return node.replica(group - 1);
  try {
    return node.coordination;
  } catch {
    return undefined;
  }
}

/** 72 bits from `random`, base64url, per id: session client ids a seed replays. */
function seededSessionIds(random: SeededRandom): () => string {
  return () => {
    const bytes = Buffer.alloc(9);
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.int(256);
    return bytes.toString('base64url');
  };
}
