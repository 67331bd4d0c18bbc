import { SeededRandom } from '../libs/imdgo/src/raft/random.ts';
import type { ChaosCluster } from './cluster.ts';
import type { NodeProcess } from './node-process.ts';
import type { PacketNetwork } from './packet-network.ts';
import { pick, type FaultKind, type PlannedFault } from './schedule.ts';

/** After this long without a healthy cluster, a wait is reported as a stall. */
const STALL_MS = 10_000;

/**
 * How long a node that joined may take to be admitted (a voter with one group; with partitions an active
 * member holding replicas) before the change counts as failed.
 */
const PROMOTION_MS = 30_000;

/** What the nemesis does to the cluster (a stand-in in tests). */
export type NemesisCluster = Pick<
  ChaosCluster,
  | 'nodes'
  | 'network'
  | 'timeoutMs'
  | 'responsive'
  | 'leader'
  | 'describe'
  | 'kill'
  | 'restart'
  | 'cut'
  | 'healNetwork'
  | 'addNode'
  | 'removeNode'
  | 'removalNeedsSuccessor'
  | 'waitHealthy'
  | 'checkAdmissions'
  | 'majorityConnected'
>;

/** How the load is doing: operations invoked and answered so far. */
export type Progress = () => { readonly invoked: number; readonly answered: number };

/** One fault from its injection to the end of the quiet time after it, and how the load fared meanwhile. */
export interface FaultWindow {
  readonly index: number;
  readonly kind: FaultKind;
  readonly invoked: number;
  readonly answered: number;
  /** When the fault was injected and when its gap after healing ended (ms since the epoch). */
  readonly from: number;
  readonly to: number;
  /**
   * Whether a majority of the members stood up, admitted and connected once the fault was in. A fault may
   * land while an earlier one is still being recovered from (a node restarted, empty or from its data, and
   * not yet seen ready), and then take the majority away: nothing can be answered, and rightly so.
   */
  readonly majorityDuring: boolean;
}

/**
 * Carries out planned faults on the cluster, one at a time: inject, hold, heal, pause. Faults that lose a
 * node's state or change the membership wait for a healthy cluster first, so that at most one seat is
 * being rebuilt at a time; the others may land while the cluster is still recovering from the last one.
 */
export class Nemesis {
  readonly counts = new Map<FaultKind, number>();
  /** Waits for a healthy cluster that took longer than STALL_MS, in ms. */
  readonly stalls: number[] = [];
  readonly windows: FaultWindow[] = [];
  /** Steps that did not do what they should (a membership change that failed, a cluster that never healed). */
  readonly failures: string[] = [];
  private readonly cluster: NemesisCluster;
  private readonly mode: 'memory' | 'data';
  private readonly log: (line: string) => void;
  private readonly progress: Progress;

  constructor(
    cluster: NemesisCluster,
    mode: 'memory' | 'data',
    log: (line: string) => void,
    progress: Progress,
  ) {
    this.cluster = cluster;
    this.mode = mode;
    this.log = log;
    this.progress = progress;
  }

  /** Runs one fault; returns false, having done nothing, if the cluster did not get healthy by `deadline`. */
  async run(fault: PlannedFault, deadline: number): Promise<boolean> {
    const losesState =
      fault.kind.startsWith('member-') ||
      fault.kind === 'kill-all' ||
      (this.mode === 'memory' && fault.kind.startsWith('kill-'));
    if (losesState && !(await this.healthyBefore(deadline))) {
      this.fail(fault, `the cluster was not healthy by the deadline: ${await this.cluster.describe()}`);
      return false;
    }
    const before = this.progress();
    const from = Date.now();
    const heal = await this.inject(fault);
    this.counts.set(fault.kind, (this.counts.get(fault.kind) ?? 0) + 1);
    await this.cluster.checkAdmissions();
    const majorityDuring = this.cluster.majorityConnected();
    await sleep(fault.holdMs);
    await heal();
    await sleep(fault.gapMs);
    const after = this.progress();
    this.windows.push({
      index: fault.index,
      kind: fault.kind,
      invoked: after.invoked - before.invoked,
      answered: after.answered - before.answered,
      from,
      to: Date.now(),
      majorityDuring,
    });
    return true;
  }

  /** Undoes every fault: heals the network, resumes paused nodes and restarts killed ones. */
  async healAll(): Promise<void> {
    for (const node of this.cluster.nodes) if (node.paused) node.resume();
    for (const node of this.cluster.nodes) if (!node.running) await this.cluster.restart(node);
    this.cluster.network?.heal();
    await this.cluster.healNetwork();
  }

  private async healthyBefore(deadline: number): Promise<boolean> {
    const began = Date.now();
    const healthy = await this.cluster.waitHealthy(Math.max(0, deadline - began));
    const waited = Date.now() - began;
    if (waited > STALL_MS) {
      this.stalls.push(waited);
      this.log(
        `stall: the cluster took ${(waited / 1000).toFixed(1)} s to get healthy${healthy ? '' : ' (it did not)'}`,
      );
    }
    return healthy;
  }

  /** Injects the fault and returns what heals it. */
  private async inject(fault: PlannedFault): Promise<() => Promise<void>> {
    const { kind, draws, holdMs } = fault;
    const cluster = this.cluster;
    const say = (what: string) => this.log(`fault ${fault.index} ${kind}: ${what} for ${holdMs} ms`);
    const nodes = byName(cluster.responsive());
    const leader = await cluster.leader();
    switch (kind) {
      case 'kill-leader':
      case 'kill-follower': {
        const victim = this.target(kind === 'kill-leader', leader, nodes, draws[0]!);
        say(
          `kill -9 ${victim.name} (${this.mode === 'memory' ? 'restarts empty' : 'restarts from its data'})`,
        );
        await cluster.kill(victim);
        return () => cluster.restart(victim);
      }
      case 'pause-leader':
      case 'pause-follower': {
        const victim = this.target(kind === 'pause-leader', leader, nodes, draws[0]!);
        say(`SIGSTOP ${victim.name}`);
        victim.pause();
        return async () => victim.resume();
      }
      case 'partition-halves': {
        const order = shuffled(nodes, draws[0]!);
        const minority = order.slice(0, 1 + Math.floor(draws[1]! * Math.floor((order.length - 1) / 2)));
        const majority = order.filter((n) => !minority.includes(n));
        say(`cut ${names(minority)} | ${names(majority)}`);
        await cluster.cut(pairs(minority, majority));
        return () => cluster.healNetwork();
      }
      case 'partition-leader': {
        const isolated = leader ?? pick(nodes, draws[0]!);
        const rest = nodes.filter((n) => n !== isolated);
        say(`cut the leader ${isolated.name} off from ${names(rest)}`);
        await cluster.cut(pairs([isolated], rest));
        return () => cluster.healNetwork();
      }
      case 'partition-bridge': {
        const [bridge, ...rest] = shuffled(nodes, draws[0]!);
        const left = rest.slice(0, Math.ceil(rest.length / 2));
        const right = rest.slice(left.length);
        say(`cut ${names(left)} | ${names(right)}, ${bridge!.name} sees both sides`);
        await cluster.cut(pairs(left, right));
        return () => cluster.healNetwork();
      }
      case 'clock-jump': {
        const victim = this.target(draws[1]! < 0.5, leader, nodes, draws[0]!);
        // Seconds to five minutes, forwards or backwards.
        const magnitude = Math.round(1_000 * 300 ** draws[2]!);
        const offsetMs = draws[3]! < 0.5 ? -magnitude : magnitude;
        say(`jump the clock of ${victim.name}${victim === leader ? ' (the leader)' : ''} by ${offsetMs} ms`);
        await this.setClock(victim, offsetMs);
        return () => this.setClock(victim, 0);
      }
      case 'packet-netem': {
        const network = this.packetNetwork();
        const victim = pick(nodes, draws[0]!);
        const netem = {
          delayMs: Math.round(5 + draws[1]! * 95),
          jitterMs: Math.round(draws[1]! * 50),
          lossPercent: Math.round(draws[2]! * 20),
          duplicatePercent: Math.round(draws[3]! * 10),
          reorderPercent: Math.round(draws[3]! * 30),
        };
        const applied = network.netem(network.hostOf(victim.id)!, netem);
        say(`${applied} on ${victim.name}'s link, both ways`);
        return async () => network.heal();
      }
      case 'packet-partition': {
        const network = this.packetNetwork();
        const order = shuffled(nodes, draws[0]!);
        const minority = order.slice(0, 1 + Math.floor(draws[1]! * Math.floor((order.length - 1) / 2)));
        const majority = order.filter((n) => !minority.includes(n));
        say(`blackhole routes between ${names(minority)} | ${names(majority)}`);
        const hosts = (side: readonly NodeProcess[]) => side.map((n) => network.hostOf(n.id)!);
        for (const host of hosts(minority)) network.block(host, hosts(majority));
        for (const host of hosts(majority)) network.block(host, hosts(minority));
        await cluster.cut(pairs(minority, majority), { hook: false });
        return async () => {
          network.heal();
          await cluster.healNetwork();
        };
      }
      case 'kill-all': {
        say('kill -9 every node (they restart from their data)');
        const victims = [...cluster.nodes];
        await Promise.all(victims.map((n) => cluster.kill(n)));
        return async () => {
          await Promise.all(victims.map((n) => cluster.restart(n)));
        };
      }
      case 'member-replace': {
        const victim = pick(byName(cluster.nodes), draws[0]!);
        if (cluster.removalNeedsSuccessor()) {
          say(`start a new node, then remove ${victim.name}${victim === leader ? ' (the leader)' : ''}`);
          const added = await this.addNode(fault);
          if (added) this.log(`${added.name} (${added.id}) joins`);
          if (added && !(await cluster.waitHealthy(Math.max(holdMs * 4, PROMOTION_MS)))) {
            this.fail(
              fault,
              `${added.name} was not admitted (holding replicas): ${await cluster.describe()}`,
            );
          }
          if (!(await cluster.removeNode(victim))) this.fail(fault, `could not remove ${victim.name}`);
          return async () => {};
        }
        say(`remove ${victim.name}${victim === leader ? ' (the leader)' : ''}, then start a new node`);
        if (!(await cluster.removeNode(victim))) this.fail(fault, `could not remove ${victim.name}`);
        return async () => {
          const added = await this.addNode(fault);
          if (added) this.log(`${added.name} (${added.id}) joins`);
        };
      }
      case 'member-grow-shrink': {
        const added = await this.addNode(fault);
        if (added && !(await cluster.waitHealthy(Math.max(holdMs * 4, PROMOTION_MS)))) {
          this.fail(
            fault,
            `${added.name} was not admitted (a voter with one group, holding replicas with partitions): ${await cluster.describe()}`,
          );
        }
        const victim = pick(byName(cluster.nodes), draws[0]!);
        say(
          `${added ? `${added.name} (${added.id}) joined; ` : ''}remove ${victim.name}${victim === leader ? ' (the leader)' : ''}`,
        );
        return async () => {
          if (!(await cluster.removeNode(victim))) this.fail(fault, `could not remove ${victim.name}`);
        };
      }
    }
  }

  private packetNetwork(): PacketNetwork {
    if (!this.cluster.network) throw new Error('packet faults need the nodes in network namespaces');
    return this.cluster.network;
  }

  /** A node that dies or is replaced meanwhile comes back with a true clock anyway. */
  private async setClock(node: NodeProcess, offsetMs: number): Promise<void> {
    await node.request({ kind: 'clock', offsetMs }, this.cluster.timeoutMs).catch(() => undefined);
  }

  private async addNode(fault: PlannedFault): Promise<NodeProcess | null> {
    try {
      return await this.cluster.addNode();
    } catch (error) {
      this.fail(fault, `could not add a node: ${(error as Error).message}`);
      return null;
    }
  }

  private fail(fault: PlannedFault, why: string): void {
    const failure = `fault ${fault.index} ${fault.kind}: ${why}`;
    this.failures.push(failure);
    this.log(`FAILED ${failure}`);
  }

  private target(
    leaderWanted: boolean,
    leader: NodeProcess | null,
    nodes: NodeProcess[],
    draw: number,
  ): NodeProcess {
    if (leaderWanted && leader) return leader;
    const followers = nodes.filter((n) => n !== leader);
    return pick(followers.length > 0 ? followers : nodes, draw);
  }
}

function byName(nodes: readonly NodeProcess[]): NodeProcess[] {
  return [...nodes].sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)));
}

function shuffled(nodes: readonly NodeProcess[], draw: number): NodeProcess[] {
  return new SeededRandom(Math.floor(draw * 2 ** 32)).shuffle(nodes);
}

function pairs(a: readonly NodeProcess[], b: readonly NodeProcess[]): [NodeProcess, NodeProcess][] {
  return a.flatMap((x) => b.map((y): [NodeProcess, NodeProcess] => [x, y]));
}

function names(nodes: readonly NodeProcess[]): string {
  return `{${nodes.map((n) => n.name).join(',')}}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
