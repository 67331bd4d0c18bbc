import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { NodeProcess, RequestFailed } from './node-process.ts';
import { membershipHealthy } from './membership-health.ts';
import type { PacketNetwork } from './packet-network.ts';
import { BREAK_ENV, type Breakage, type NodeArgs, type NodeStatus, type StateDigest } from './protocol.ts';
import { removalTimeoutMs } from './removal-bound.ts';
import { DEFAULT_REPLICAS } from '../libs/imdgo/src/partition/placement-planner.ts';

const HOST = '127.0.0.1';
const STATUS_TIMEOUT_MS = 2_000;
const POLL_MS = 100;

export interface ClusterOptions {
  readonly size: number;
  readonly mode: 'memory' | 'data';
  readonly runDir: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly requestTimeoutMs: number;
  readonly snapshotThreshold: number;
  readonly lockSessionTtlMs: number;
  /** Runs every node broken this way (only to show that the checks catch it). */
  readonly breakage: Breakage | null;
  /** Runs every node in its own network namespace on this network (null: all on 127.0.0.1). */
  readonly network: PacketNetwork | null;
  /** Partitions of every node (1: one Raft group). */
  readonly partitions: number;
}

/**
 * The node processes of one chaos run and what the orchestrator intends their membership to be. A killed
 * node keeps its seat in `nodes` until it is restarted (memory mode: it rejoins as a new member by itself).
 */
export class ChaosCluster {
  readonly nodes: NodeProcess[] = [];
  private readonly options: ClusterOptions;
  private readonly usedPorts = new Set<number>();
  /** Links cut by the current partition, by node id: applied again to a node that restarts meanwhile. */
  private readonly cuts = new Map<string, Set<string>>();
  /**
   * Processes known to hold their seat as voters: started with the cluster, or seen ready since they were
   * (re)started or added. A node restarted from its data is not one until then either: until it has loaded
   * its log and heard from a leader, a fault that leaves it in the only majority can stall the cluster for
   * longer than the fault (seed 1427155951: the leader cut off while the restarted node was still starting).
   */
  private readonly admitted = new WeakSet<NodeProcess>();
  private named = 0;

  private constructor(options: ClusterOptions) {
    this.options = options;
    mkdirSync(join(options.runDir, 'logs'), { recursive: true });
  }

  static async start(options: ClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(options);
    const ids = await Promise.all(Array.from({ length: options.size }, () => cluster.freeId()));
    const started = await Promise.all(ids.map((id) => cluster.launch(cluster.argsFor(id, ids))));
    cluster.nodes.push(...started);
    for (const node of started) cluster.admitted.add(node);
    if (!(await cluster.waitHealthy(30_000))) {
      throw new Error(`the cluster did not form within 30 s: ${await cluster.describe()}`);
    }
    return cluster;
  }

  get network(): PacketNetwork | null {
    return this.options.network;
  }

  get timeoutMs(): number {
    return this.options.requestTimeoutMs;
  }

  /** Nodes whose process is up (paused ones included): where clients send their operations. */
  running(): NodeProcess[] {
    return this.nodes.filter((n) => n.running);
  }

  /** Nodes that can answer right now. */
  responsive(): NodeProcess[] {
    return this.nodes.filter((n) => n.running && !n.paused);
  }

  /**
   * Whether, as far as the orchestrator's own faults go, a majority of the members is up as voters, not
   * paused and connected to each other: then the cluster should be making progress.
   */
  majorityConnected(): boolean {
    const up = this.responsive().filter((n) => this.admitted.has(n));
    const needed = Math.floor(this.nodes.length / 2) + 1;
    // At most a handful of nodes: trying every group is cheap.
    for (let mask = 0; mask < 1 << up.length; mask++) {
      const group = up.filter((_, i) => mask & (1 << i));
      if (group.length < needed) continue;
      if (group.every((a) => group.every((b) => !this.cuts.get(a.id)?.has(b.id)))) return true;
    }
    return false;
  }

  async statuses(): Promise<Map<NodeProcess, NodeStatus | null>> {
    const nodes = this.responsive();
    const answers = await Promise.all(
      nodes.map((n) => n.request({ kind: 'status' }, STATUS_TIMEOUT_MS).catch(() => null)),
    );
    for (const [i, node] of nodes.entries()) if (answers[i]?.ready) this.admitted.add(node);
    return new Map(nodes.map((n, i) => [n, answers[i]!]));
  }

  /** Asks the running nodes not yet known to hold their seat whether they are ready now. */
  async checkAdmissions(): Promise<void> {
    const waiting = this.responsive().filter((n) => !this.admitted.has(n));
    const answers = await Promise.all(
      waiting.map((n) => n.request({ kind: 'status' }, STATUS_TIMEOUT_MS).catch(() => null)),
    );
    for (const [i, node] of waiting.entries()) if (answers[i]?.ready) this.admitted.add(node);
  }

  /** The node that leads in the highest term any responsive node reports, or null. */
  async leader(): Promise<NodeProcess | null> {
    let best: { node: NodeProcess; term: number } | null = null;
    for (const [node, status] of await this.statuses()) {
      if (status?.role === 'leader' && (best === null || status.term > best.term)) {
        best = { node, term: status.term };
      }
    }
    return best?.node ?? null;
  }

  /** Every node's status, for a report. */
  async describe(): Promise<string> {
    const statuses = await this.statuses();
    return this.nodes
      .map((n) => `${n.name} ${n.id}: ${JSON.stringify(statuses.get(n) ?? 'no answer')}`)
      .join('; ');
  }

  async kill(node: NodeProcess): Promise<void> {
    await node.kill();
  }

  /** Starts a killed node again on its address: with its data directory, or empty in memory mode. */
  async restart(node: NodeProcess): Promise<void> {
    const index = this.nodes.indexOf(node);
    if (index < 0 || node.running) return;
    // An operator restarts a node with the cluster's current members (the original ones may be gone).
    const args = { ...node.args, members: this.nodes.map((n) => n.id) };
    this.nodes[index] = await this.launch(args, node.name);
  }

  /**
   * Cuts every link between `a` and `b`, on both sides, through the fault-injection hook; with `hook`
   * false only records the cut, which the caller made at the packet level.
   */
  async cut(pairs: readonly (readonly [NodeProcess, NodeProcess])[], { hook = true } = {}): Promise<void> {
    for (const [a, b] of pairs) {
      this.cutsOf(a.id).add(b.id);
      this.cutsOf(b.id).add(a.id);
    }
    if (hook) await Promise.all(this.running().map((n) => this.applyCuts(n)));
  }

  async healNetwork(): Promise<void> {
    this.cuts.clear();
    await Promise.all(
      this.running().map((n) => n.request({ kind: 'heal' }, this.timeoutMs).catch(() => undefined)),
    );
  }

  /** Starts a node that is not among the members: it joins through discovery and is promoted. */
  async addNode(): Promise<NodeProcess> {
    const id = await this.freeId();
    const node = await this.launch(
      this.argsFor(
        id,
        this.nodes.map((n) => n.id),
      ),
    );
    this.nodes.push(node);
    return node;
  }

  /**
   * With partitions the grid keeps as many active members as replicas per partition (the module's default
   * here): `removeMember` refuses to go below, so a member is replaced by starting its successor first.
   */
  removalNeedsSuccessor(): boolean {
    return this.options.partitions > 1 && this.nodes.length <= DEFAULT_REPLICAS;
  }

  /**
   * Removes `victim` from the configuration through another member (removing the leader hands leadership
   * over first; with partitions, the member is drained), then stops its process. Returns false, leaving it
   * a member, if no attempt succeeded: with one group each attempt has its own bound, with partitions all
   * of them share one (a drain that timed out goes on, so a retry only waits for it longer).
   */
  async removeNode(victim: NodeProcess, attempts = 3): Promise<boolean> {
    const boundMs = removalTimeoutMs(this.options.partitions, this.timeoutMs);
    const deadline = Date.now() + boundMs;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const via = this.responsive().filter((n) => n !== victim);
      const waitMs = this.options.partitions === 1 ? boundMs : deadline - Date.now();
      if (via.length === 0 || waitMs <= 0) break;
      try {
        // The node gives up at waitMs and says so; the extra request timeout is for its answer to arrive.
        await via[attempt % via.length]!.request(
          { kind: 'remove-member', id: victim.id, timeoutMs: waitMs },
          waitMs + this.timeoutMs,
        );
      } catch (error) {
        // Done already: an earlier attempt whose answer was lost took effect.
        if (!(error instanceof RequestFailed && /is not a member/.test(error.message))) continue;
      }
      this.nodes.splice(this.nodes.indexOf(victim), 1);
      this.cuts.delete(victim.id);
      await victim.kill();
      return true;
    }
    return false;
  }

  /**
   * Waits until every member runs, answers, agrees on one leader and shows the intended membership
   * (membership-health.ts; a node that rejoins after losing its memory counts once it is readmitted).
   */
  async waitHealthy(timeoutMs: number): Promise<boolean> {
    return this.poll(timeoutMs, (statuses) => this.isHealthy(statuses));
  }

  /** Healthy, and every member has applied the same committed index, twice in a row. */
  async waitConverged(timeoutMs: number): Promise<boolean> {
    let previous = -1;
    return this.poll(timeoutMs, (statuses) => {
      if (!this.isHealthy(statuses)) return false;
      const indexes = [...statuses.values()].flatMap((s) => (s ? [s.appliedIndex, s.commitIndex] : []));
      const same = indexes.every((i) => i === indexes[0]);
      const stable = same && indexes[0] === previous;
      previous = same ? indexes[0]! : -1;
      return stable;
    });
  }

  digests(): Promise<Map<NodeProcess, StateDigest[]>> {
    return Promise.all(
      this.nodes.map(async (n) => [n, await n.request({ kind: 'digest' }, this.timeoutMs * 5)] as const),
    ).then((pairs) => new Map(pairs));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  private isHealthy(statuses: Map<NodeProcess, NodeStatus | null>): boolean {
    return membershipHealthy(
      this.nodes.map((n) => n.id),
      this.nodes.map((n) => statuses.get(n) ?? null),
      this.options.partitions,
    );
  }

  private async poll(
    timeoutMs: number,
    done: (statuses: Map<NodeProcess, NodeStatus | null>) => boolean,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (done(await this.statuses())) return true;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return false;
  }

  private cutsOf(id: string): Set<string> {
    let set = this.cuts.get(id);
    if (!set) this.cuts.set(id, (set = new Set()));
    return set;
  }

  private async applyCuts(node: NodeProcess): Promise<void> {
    const peers = [...(this.cuts.get(node.id) ?? [])];
    if (peers.length > 0) await node.request({ kind: 'block', peers }, this.timeoutMs).catch(() => undefined);
  }

  private async launch(args: NodeArgs, name = `n${++this.named}`): Promise<NodeProcess> {
    const env: Record<string, string> =
      this.options.breakage === null ? {} : { [BREAK_ENV]: this.options.breakage };
    const namespace = this.options.network?.hostOf(args.nodeId)?.namespace ?? null;
    const logFile = join(this.options.runDir, 'logs', `${name}.log`);
    const node = await NodeProcess.start(name, args, logFile, env, namespace);
    await this.applyCuts(node);
    return node;
  }

  private argsFor(nodeId: string, members: readonly string[]): NodeArgs {
    const { mode, runDir, tickMs, electionTicks, requestTimeoutMs, snapshotThreshold, lockSessionTtlMs } =
      this.options;
    const { partitions } = this.options;
    const dataDir = mode === 'data' ? join(runDir, 'data', nodeId.replace(':', '_')) : null;
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    return {
      nodeId,
      members,
      dataDir,
      tickMs,
      electionTicks,
      requestTimeoutMs,
      snapshotThreshold,
      lockSessionTtlMs,
      partitions,
    };
  }

  private async freeId(): Promise<string> {
    if (this.options.network) return this.options.network.addHost().id;
    for (;;) {
      const port = await freePort();
      if (this.usedPorts.has(port)) continue;
      this.usedPorts.add(port);
      return `${HOST}:${port}`;
    }
  }
}
