import { join } from 'node:path';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { makeTempDir } from '../../scripts/child-processes.ts';
import { NodeProcess } from './node-process.ts';
import type { NodeStatus } from './protocol.ts';

export interface ImdgoClusterOptions {
  readonly size: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly execArgv: readonly string[];
  /** A parent directory for the nodes' logs (dataDir mode), or null: memory mode. */
  readonly dataDir: string | null;
  /** Start the nodes with faultInjection, so that `cut` can drop a node's links. */
  readonly faultInjection: boolean;
  /** The nodes' tickMs, or null for the library's default. */
  readonly tickMs: number | null;
  readonly verbose: boolean;
}

const STATUS_TIMEOUT_MS = 2_000;
const POLL_MS = 50;
/** A node this close to the leader's commit index has caught up. */
const CAUGHT_UP_ENTRIES = 10;

/** The bench nodes on loopback ports: finds the leader, waits for health, restarts a killed node. */
export class ImdgoCluster {
  readonly nodes: NodeProcess[];
  private readonly options: ImdgoClusterOptions;
  private readonly members: string[];
  private readonly root: string | null;

  private constructor(
    options: ImdgoClusterOptions,
    members: string[],
    nodes: NodeProcess[],
    root: string | null,
  ) {
    this.options = options;
    this.root = root;
    this.members = members;
    this.nodes = nodes;
  }

  static async start(options: ImdgoClusterOptions): Promise<ImdgoCluster> {
    const ports = await Promise.all(Array.from({ length: options.size }, () => freePort()));
    const members = ports.map((port) => `127.0.0.1:${port}`);
    const root = options.dataDir === null ? null : makeTempDir(options.dataDir, 'imdgo-bench-imdgo-');
    const nodes = await Promise.all(members.map((id, i) => startNode(options, members, id, i, root)));
    const cluster = new ImdgoCluster(options, members, nodes, root);
    await cluster.waitHealthy(30_000);
    return cluster;
  }

  async leader(): Promise<NodeProcess> {
    return (await this.healthyRoles()).leader;
  }

  async follower(): Promise<NodeProcess> {
    return (await this.healthyRoles()).followers[0]!;
  }

  /** Until every node runs and votes, all agree on one leader and each has applied up to its commit index. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const problem = await this.healthProblem().catch((error: Error) => error.message);
      if (problem === null) return;
      last = problem;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`the imdgo cluster is not healthy after ${timeoutMs} ms: ${last}`);
  }

  /**
   * Starts the node again under the same id and port: with empty memory it rejoins as a new member; in
   * dataDir mode it recovers its log from its directory.
   */
  async restart(node: NodeProcess): Promise<NodeProcess> {
    await node.exited;
    const index = this.nodes.indexOf(node);
    const restarted = await startNode(this.options, this.members, node.nodeId, index, this.root);
    this.nodes[index] = restarted;
    return restarted;
  }

  async statuses(): Promise<NodeStatus[]> {
    return Promise.all(this.nodes.map((node) => node.request({ kind: 'status' }, STATUS_TIMEOUT_MS)));
  }

  /** CPU µs used so far by the given node processes (default: all) together. */
  async cpuUs(nodes: readonly NodeProcess[] = this.nodes): Promise<number> {
    const each = await Promise.all(nodes.map((node) => node.request({ kind: 'cpu' }, STATUS_TIMEOUT_MS)));
    return each.reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  /** Drops every link of `node` on both ends, without closing a connection. */
  async cut(node: NodeProcess): Promise<void> {
    const others = this.nodes.filter((other) => other !== node);
    await Promise.all([
      node.request({ kind: 'block', peers: others.map((other) => other.nodeId) }, STATUS_TIMEOUT_MS),
      ...others.map((other) => other.request({ kind: 'block', peers: [node.nodeId] }, STATUS_TIMEOUT_MS)),
    ]);
  }

  async heal(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.request({ kind: 'heal' }, STATUS_TIMEOUT_MS)));
  }

  private async healthyRoles(): Promise<{ leader: NodeProcess; followers: NodeProcess[] }> {
    await this.waitHealthy(30_000);
    const statuses = await this.statuses();
    const leaderAt = statuses.findIndex((s) => s.role === 'leader');
    if (leaderAt < 0) throw new Error('the leader stepped down');
    return { leader: this.nodes[leaderAt]!, followers: this.nodes.filter((_, i) => i !== leaderAt) };
  }

  private async healthProblem(): Promise<string | null> {
    const down = this.nodes.find((node) => !node.running);
    if (down) return `${down.name} is not running`;
    const statuses = await this.statuses();
    const leaders = statuses.filter((s) => s.role === 'leader');
    if (leaders.length !== 1) return `${leaders.length} leaders`;
    const leaderId = this.nodes[statuses.indexOf(leaders[0]!)]!.nodeId;
    const commit = leaders[0]!.commitIndex;
    const missing = this.nodes.find((node) => !leaders[0]!.voters.includes(node.nodeId));
    if (missing) return `${missing.name} is not a voter yet`;
    for (const [i, status] of statuses.entries()) {
      const name = this.nodes[i]!.name;
      if (status.leader !== leaderId) return `${name} sees leader ${status.leader}, not ${leaderId}`;
      if (status.appliedIndex < commit - CAUGHT_UP_ENTRIES)
        return `${name} applied ${status.appliedIndex} of ${commit}`;
    }
    return null;
  }
}

function startNode(
  options: ImdgoClusterOptions,
  members: readonly string[],
  nodeId: string,
  index: number,
  root: string | null,
): Promise<NodeProcess> {
  const name = `imdgo${index + 1}`;
  const dataDir = root === null ? null : join(root, name);
  return NodeProcess.start({
    name,
    args: {
      nodeId,
      members,
      keys: options.keys,
      valueBytes: options.valueBytes,
      dataDir,
      faultInjection: options.faultInjection,
      tickMs: options.tickMs,
    },
    execArgv: options.execArgv,
    verbose: options.verbose,
  });
}
