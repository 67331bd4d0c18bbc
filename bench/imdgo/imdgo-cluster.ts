import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { NodeProcess } from './node-process.ts';
import type { NodeStatus } from './protocol.ts';

export interface ImdgoClusterOptions {
  readonly size: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly execArgv: readonly string[];
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

  private constructor(options: ImdgoClusterOptions, members: string[], nodes: NodeProcess[]) {
    this.options = options;
    this.members = members;
    this.nodes = nodes;
  }

  static async start(options: ImdgoClusterOptions): Promise<ImdgoCluster> {
    const ports = await Promise.all(Array.from({ length: options.size }, () => freePort()));
    const members = ports.map((port) => `127.0.0.1:${port}`);
    const nodes = await Promise.all(members.map((id, i) => startNode(options, members, id, i)));
    const cluster = new ImdgoCluster(options, members, nodes);
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

  /** Starts the node again under the same id and port, with empty memory: it rejoins as a new member. */
  async restart(node: NodeProcess): Promise<NodeProcess> {
    await node.exited;
    const index = this.nodes.indexOf(node);
    const restarted = await startNode(this.options, this.members, node.nodeId, index);
    this.nodes[index] = restarted;
    return restarted;
  }

  async statuses(): Promise<NodeStatus[]> {
    return Promise.all(this.nodes.map((node) => node.request({ kind: 'status' }, STATUS_TIMEOUT_MS)));
  }

  /** CPU µs used so far by all the node processes together. */
  async cpuUs(): Promise<number> {
    const each = await Promise.all(
      this.nodes.map((node) => node.request({ kind: 'cpu' }, STATUS_TIMEOUT_MS)),
    );
    return each.reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
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
): Promise<NodeProcess> {
  return NodeProcess.start({
    name: `imdgo${index + 1}`,
    args: { nodeId, members, keys: options.keys, valueBytes: options.valueBytes },
    execArgv: options.execArgv,
    verbose: options.verbose,
  });
}
