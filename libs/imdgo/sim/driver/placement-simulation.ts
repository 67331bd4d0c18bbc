import { GroupHost } from '../../src/driver/group-host.ts';
import type { RaftNode } from '../../src/driver/raft-node.ts';
import type { Coordination } from '../../src/grid/placement/coordination.ts';
import { groupOfPartition } from '../../src/grid/placement/group-handle.ts';
import { PlacementLoop } from '../../src/grid/placement/placement-loop.ts';
import { RaftMoveExecutor } from '../../src/grid/placement/raft-move-executor.ts';
import { ReplicaHosting } from '../../src/grid/placement/replica-hosting.ts';
import { partitionOf } from '../../src/partition/key-partition.ts';
import { createPartitionTable, type PartitionTable } from '../../src/partition/partition-table.ts';
import { encodePartitionTable } from '../../src/partition/partition-table-codec.ts';
import { SeededRandom } from '../../src/raft/random.ts';
import type { Entry, NodeId, SoftState } from '../../src/raft/types.ts';
import type { GridCommand } from '../../src/state-machine/grid-commands.ts';
import { GRID_SPACE } from '../../src/state-machine/grid-commands.ts';
import type { GridMeta } from '../../src/state-machine/grid-meta.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { SimNetwork } from '../sim-network.ts';
import { DriverInvariants } from './driver-invariants.ts';
import { SimWire, type Delivery, type SimTransport } from './sim-transport.ts';
import { SimProcess, VirtualTime } from './virtual-time.ts';

export const TICK_MS = 100;
export const DEAD_MEMBER_TIMEOUT_MS = 8_000;
export const FAILURE_DETECTION_MS = 2_000;

/** One process of a grid node: its GroupHost (coordination group 0 and its partition groups) and placement. */
interface GridProcess {
  readonly id: NodeId;
  readonly incarnation: string;
  readonly process: SimProcess;
  readonly transport: SimTransport;
  readonly host: GroupHost;
  readonly loop: PlacementLoop;
  readonly hosting: ReplicaHosting;
}

/**
 * Grid nodes on virtual time over a lossy network, running the production GroupHost, RaftNode and
 * MemoryStorage with the placement loop, move executor and replica hosting. Every group (coordination and
 * partitions) gets its own Raft safety checks; a client writes distinct keys through random replicas and
 * remembers what was acknowledged.
 */
export class PlacementSimulation {
  readonly time = new VirtualTime();
  readonly nodes = new Map<NodeId, GridProcess>();
  /** Per group id: one leader per term, the same entry at each index on every replica. */
  readonly invariants = new Map<number, DriverInvariants>();
  /** Acknowledged writes: key → value. */
  readonly acked = new Map<string, number>();
  readonly trace: string[] = [];
  readonly partitions: number;
  readonly network: SimNetwork<Delivery>;
  private readonly wire: SimWire;
  private readonly random: SeededRandom;
  private incarnations = 0;
  private replicaInstances = 0;
  private writes = 0;
  private driverErrors: string[] = [];

  constructor(seed: number, partitions: number, lossRate: number) {
    this.partitions = partitions;
    this.random = new SeededRandom(seed);
    this.network = new SimNetwork<Delivery>(new SeededRandom(seed + 1), {
      lossRate,
      duplicateRate: 0.01,
      minDelayMs: 1,
      maxDelayMs: 15,
      longDelayRate: 0.005,
      longDelayMaxMs: 200,
    });
    this.wire = new SimWire(this.time, this.network);
  }

  /** Starts a process for `id` that probes `members` for the coordination group. */
  startNode(id: NodeId, members: readonly NodeId[]): GridProcess {
    const process = new SimProcess(this.time);
    const transport = this.wire.transport(id, process);
    const host = new GroupHost({ transport, scheduler: process });
    const incarnation = `${id}#${++this.incarnations}`;
    const nodeOptions = (group: number, groupMembers: readonly NodeId[]) => ({
      id,
      members: groupMembers,
      incarnation,
      snapshotThreshold: 40,
      snapshotTrailingEntries: 10,
      storeLimit: null,
      maxPendingWrites: 1000,
      storage: new MemoryStorage(),
      tickMs: TICK_MS,
      electionTicks: 10,
      heartbeatTicks: 1,
      requestTimeoutMs: 8_000,
      random: new SeededRandom(this.random.int(2 ** 31)),
      // Unique per replica instance: a replica re-created later must not reuse the session (and get the
      // remembered answers of the earlier one's writes).
      sessionClient: `${incarnation}/${group}/${++this.replicaInstances}`,
      onChange: () => {},
      onRoleChange: (state: SoftState) => {
        if (state.role === 'leader') this.log(`${id} leads group ${group} term ${state.term}`);
        this.invariantsOf(group).onRoleChange(id, state);
      },
    });
    const watch = (group: number, node: RaftNode) => {
      const apply = node.machine.apply.bind(node.machine);
      node.machine.apply = (entry: Entry) => {
        this.invariantsOf(group).onApplied(id, entry);
        return apply(entry);
      };
      return node;
    };
    const coordinationNode = (): RaftNode | undefined => host.group(0);
    const meta = (): GridMeta => coordinationNode()!.machine.grid;
    const coordination: Coordination = {
      isLeader: () => coordinationNode()?.isLeader() ?? false,
      meta,
      propose: async (command: GridCommand) => {
        const result = await coordinationNode()!.write(command);
        this.log(`${id} ${JSON.stringify(command)} → ${JSON.stringify(result.value)}`);
        return result;
      },
      groupMembers: () => {
        const config = coordinationNode()?.localStatus().members ?? [];
        return config.map((m) => m.id);
      },
      removeFromGroup: (peer) => coordinationNode()!.changeMembership({ type: 'remove', id: peer }),
      silenceMs: (peer) => {
        if (peer === id) return 0;
        const seen = coordinationNode()
          ?.localStatus()
          .members.find((m) => m.id === peer);
        return seen?.lastContactMs ?? null;
      },
    };
    const executor = new RaftMoveExecutor({
      localReplica: (partition) => host.group(groupOfPartition(partition)),
      transport,
      scheduler: process,
      pollMs: TICK_MS,
      requestTimeoutMs: 2_000,
      moveTimeoutMs: 20_000,
    });
    const loop = new PlacementLoop(coordination, executor, process, {
      deadMemberTimeoutMs: DEAD_MEMBER_TIMEOUT_MS,
      failureDetectionMs: FAILURE_DETECTION_MS,
      moveTimeoutMs: 20_000,
    });
    const hosting = new ReplicaHosting({
      self: id,
      incarnation,
      host,
      meta,
      scheduler: process,
      transferBackoffMs: 2_000,
      groupOptions: (partition, groupMembers) => nodeOptions(groupOfPartition(partition), groupMembers),
    });
    // Replicas a group creates are watched too: GroupHost builds them, so wrap its factory.
    const createGroup = host.createGroup.bind(host);
    host.createGroup = async (group, options) => {
      this.log(`${id} creates group ${group}`);
      return watch(group, await createGroup(group, options));
    };
    const destroyGroup = host.destroyGroup.bind(host);
    host.destroyGroup = (group) => {
      this.log(`${id} destroys group ${group}`);
      return destroyGroup(group);
    };
    const node: GridProcess = { id, incarnation, process, transport, host, loop, hosting };
    this.nodes.set(id, node);
    void (async () => {
      await host.start();
      await host.createGroup(0, {
        ...nodeOptions(0, members),
        // The coordination group keeps heartbeating: its leader's contact times are the failure detector.
        raftTuning: { quiesce: false },
        onChange: (change) => {
          if (change.map !== GRID_SPACE) return;
          hosting.reconcile();
          loop.poke();
        },
      });
      process.setInterval(() => hosting.reconcile(), 500);
      loop.start();
    })().catch((error: Error) => this.driverErrors.push(`${id} failed to start: ${error.message}`));
    return node;
  }

  private invariantsOf(group: number): DriverInvariants {
    let invariants = this.invariants.get(group);
    if (!invariants) {
      invariants = new DriverInvariants();
      this.invariants.set(group, invariants);
    }
    return invariants;
  }

  log(line: string): void {
    this.trace.push(`${this.time.now.toFixed(1)} ${line}`);
  }

  alive(): GridProcess[] {
    return [...this.nodes.values()].filter((n) => n.process.alive);
  }

  /** Kills `id`'s process for good (its memory is lost). */
  crash(id: NodeId): void {
    this.log(`crash ${id}`);
    this.nodes.get(id)!.process.crash();
  }

  /** Cuts `id` off from every other node for `ms`, then heals the network. */
  async isolate(id: NodeId, ms: number): Promise<void> {
    this.log(`isolate ${id} for ${ms} ms`);
    const others = [...this.nodes.keys()].filter((other) => other !== id);
    this.network.partition([id], others);
    await this.runFor(ms);
    this.network.heal();
    this.log('healed');
  }

  /** One of `items`, drawn from the seed. */
  pick<T>(items: readonly T[]): T {
    return this.random.pick(items);
  }

  /** The coordination group's leader among the live processes, if exactly one leads. */
  coordinationLeader(): GridProcess | undefined {
    const leaders = this.alive().filter((n) => n.host.group(0)?.isLeader());
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  /** The metadata as the coordination leader applied it. */
  meta(): GridMeta | undefined {
    return this.coordinationLeader()?.host.group(0)!.machine.grid;
  }

  /** Proposes a grid command from `id`'s coordination replica, retried until applied or `attempts` run out. */
  async propose(id: NodeId, command: GridCommand, attempts = 10): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.nodes.get(id)!.host.group(0)!.write(command);
        if (!result.applied) throw new Error(`refused: ${JSON.stringify(result.value)}`);
        return;
      } catch (error) {
        if (attempt >= attempts) throw error;
      }
    }
  }

  /** Forms the grid: the first coordination leader records the first table over `members`. */
  async form(members: readonly NodeId[], replicas: number): Promise<void> {
    await this.runUntil(() => this.coordinationLeader() !== undefined, 'a coordination leader');
    const leader = this.coordinationLeader()!;
    const table = encodePartitionTable(createPartitionTable(this.partitions, members, replicas));
    const specs = members.map((id) => ({ id, incarnation: this.nodes.get(id)!.incarnation, address: id }));
    let done = false;
    void this.propose(leader.id, { op: 'grid-init', table, replicas, members: specs }).then(() => {
      done = true;
    });
    await this.runUntil(() => done, 'the grid formed');
  }

  /** A node (new, or a new process of a known id) joins and activates. */
  async join(id: NodeId): Promise<void> {
    const node = this.nodes.get(id)!;
    const spec = { id, incarnation: node.incarnation, address: id };
    let done = false;
    void (async () => {
      await this.runNodeTask(id, () => this.propose(id, { op: 'grid-join', ...spec }));
      await this.runNodeTask(id, () =>
        this.propose(id, { op: 'grid-activate', id, incarnation: node.incarnation }),
      );
      done = true;
    })();
    await this.runUntil(() => done, `${id} joined`, 120_000);
  }

  private async runNodeTask(id: NodeId, task: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        // The coordination replica exists once the process has started.
        if (this.nodes.get(id)!.host.group(0)) return await task();
      } catch {
        // retried below
      }
      await new Promise<void>((resolve) => this.nodes.get(id)!.process.setTimeout(resolve, 500));
    }
  }

  /** removeMember: drain; placement moves its replicas off, then takes it out of the coordination group. */
  async drain(id: NodeId): Promise<void> {
    const by = this.alive().find((n) => n.id !== id)!.id;
    let drained = false;
    void this.runNodeTask(by, () => this.propose(by, { op: 'grid-drain', id })).then(() => {
      drained = true;
    });
    await this.runUntil(() => drained, `${id} marked draining`);
    await this.runUntil(() => this.meta()?.isDrained(id) === true, `${id} drained`, 180_000);
    const inCoordination = () =>
      this.coordinationLeader()
        ?.host.group(0)!
        .localStatus()
        .members.some((m) => m.id === id) ?? true;
    await this.runUntil(() => !inCoordination(), `${id} out of the coordination group`);
    this.crash(id);
  }

  /** Starts a client that writes a new key every `everyMs` through a random live replica of its partition. */
  startWriter(everyMs: number): () => void {
    let running = true;
    const clientProcess = new SimProcess(this.time);
    const next = () => {
      if (!running) return;
      const key = `k${++this.writes}`;
      const value = this.writes;
      const group = groupOfPartition(partitionOf('', key, this.partitions));
      const replicas = this.alive().filter((n) => n.host.group(group) !== undefined);
      if (replicas.length > 0) {
        const via = this.random.pick(replicas);
        via.host
          .group(group)!
          .write({ op: 'set', map: '', key, value })
          .then(
            (result) => {
              this.acked.set(key, value);
              this.log(`${key} acked via ${via.id} in group ${group} at revision ${result.revision}`);
            },
            () => {},
          );
      }
      clientProcess.setTimeout(next, everyMs);
    };
    next();
    return () => {
      running = false;
    };
  }

  /** Runs every event due in the next `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    const until = this.time.now + ms;
    while (this.time.now <= until && (await this.step())) {
      // one event and the continuations it caused
    }
  }

  /** Runs until `settled` holds, failing after `ms` of virtual time. */
  async runUntil(settled: () => boolean, what: string | (() => string), ms = 60_000): Promise<void> {
    const deadline = this.time.now + ms;
    while (!settled()) {
      this.checkSafety();
      if (this.time.now > deadline || !(await this.step())) {
        throw new Error(`never: ${typeof what === 'string' ? what : what()} (t=${this.time.now})`);
      }
    }
    this.checkSafety();
  }

  /** One event; with none queued, first lets pending promise chains (a process starting) queue theirs. */
  private async step(): Promise<boolean> {
    if (this.time.pending === 0) await new Promise((resolve) => setImmediate(resolve));
    return this.time.step();
  }

  checkSafety(): void {
    for (const [group, invariants] of this.invariants) {
      if (invariants.violation) throw new Error(`group ${group}: ${invariants.violation}`);
    }
    if (this.driverErrors.length > 0) throw new Error(this.driverErrors[0]);
  }

  /**
   * Placement is done: every partition has `replicas` voters on active, live members and no learner, each
   * group's own configuration and leader match the table, and replica and leadership counts per active
   * member differ by at most one. Returns why not, or null.
   */
  convergence(replicas: number): string | null {
    const meta = this.meta();
    const table = meta?.table;
    if (!meta || !table) return 'no coordination leader';
    const active = meta
      .memberList()
      .filter((m) => m.state === 'active' && m.deadSince === null && !m.staleReplicas)
      .map((m) => m.id);
    for (const [partition, { voters, learners, leader }] of table.partitions.entries()) {
      if (learners.length > 0) return `partition ${partition} has learners`;
      if (voters.length !== Math.min(replicas, active.length)) return `partition ${partition}: ${voters}`;
      if (!voters.every((id) => active.includes(id))) return `partition ${partition} on ${voters}`;
      const group = groupOfPartition(partition);
      const actual = this.alive().filter((n) => n.host.group(group)?.isLeader());
      if (actual.length !== 1 || actual[0]!.id !== leader)
        return `partition ${partition} led by ${actual.map((n) => n.id)}, not ${leader}`;
      const config = actual[0]!.host.group(group)!.localStatus().members;
      const groupVoters = config.filter((m) => m.voter).map((m) => m.id);
      if (groupVoters.sort().join() !== [...voters].sort().join() || config.length !== voters.length)
        return `partition ${partition}: group has ${config.map((m) => m.id)}, table ${voters}`;
      const hosts = this.alive()
        .filter((n) => n.host.group(group))
        .map((n) => n.id);
      if (hosts.sort().join() !== [...voters].sort().join())
        return `partition ${partition} hosted on ${hosts}, table ${voters}`;
    }
    const coordinationMembers = this.coordinationLeader()!.host.group(0)!.localStatus().members;
    const gone = coordinationMembers.filter(({ id }) => {
      const member = meta.member(id);
      return member && (member.deadSince !== null || member.state === 'draining');
    });
    if (gone.length > 0) return `${gone.map((m) => m.id)} still in the coordination group`;
    const spread = (count: (id: NodeId) => number) => {
      const counts = active.map(count);
      return Math.max(...counts) - Math.min(...counts);
    };
    if (spread((id) => table.partitions.filter((p) => p.voters.includes(id)).length) > 1)
      return 'replicas unbalanced';
    if (spread((id) => table.partitions.filter((p) => p.leader === id).length) > 1)
      return 'leaderships unbalanced';
    return null;
  }

  /** Every acknowledged write is in its partition, as a linearizable read on the partition's leader sees it. */
  async checkAcknowledged(): Promise<string | null> {
    for (let partition = 0; partition < this.partitions; partition++) {
      const group = groupOfPartition(partition);
      const leader = this.alive().find((n) => n.host.group(group)?.isLeader())!;
      const node = leader.host.group(group)!;
      let read = false;
      void node.linearizableBarrier().then(() => {
        read = true;
      });
      await this.runUntil(() => read, `a read on partition ${partition}`);
      for (const [key, value] of this.acked) {
        if (partitionOf('', key, this.partitions) !== partition) continue;
        const stored = node.machine.get('', key)?.value;
        if (stored !== value)
          return `acknowledged ${key}=${value} lost: partition ${partition} has ${stored}`;
      }
    }
    return null;
  }

  /** A fingerprint of the run, equal on every replay of a seed. */
  fingerprint(): string {
    const table = this.meta()?.table as PartitionTable | undefined;
    return `${table ? encodePartitionTable(table) : '-'} acked=${this.acked.size} t=${this.time.now}`;
  }
}
