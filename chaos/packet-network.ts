import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ensureInstalled } from '../scripts/apt.ts';

const IP = '/usr/sbin/ip';
const TC = '/usr/sbin/tc';
/** Every node listens on this port of its own address. */
const PORT = 7000;

/** One node's place on the packet network: its namespace, address and the root side of its cable. */
export interface NetHost {
  readonly namespace: string;
  readonly address: string;
  readonly id: string;
  /** The root-namespace end of the veth pair, on the bridge: its qdisc shapes what reaches the node. */
  readonly veth: string;
}

/** What netem does to a node's packets, both ways. */
export interface Netem {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly lossPercent: number;
  readonly duplicatePercent: number;
  readonly reorderPercent: number;
}

/**
 * Nodes in their own network namespaces (as root): one veth pair each to a bridge, named with a run id so
 * that runs side by side do not meet, and removed by `destroy` (also from the process's exit event).
 * Faults act on packets, where TCP sees them: `tc netem` delay, jitter, loss, duplication and reordering,
 * and blackhole routes for partitions.
 */
export class PacketNetwork {
  private readonly runId = randomBytes(3).toString('hex');
  private readonly bridge = `imb${this.runId}`;
  /** A /24 of 10.213.0.0/16 chosen by the run id. */
  private readonly subnet = `10.213.${Number.parseInt(this.runId.slice(0, 2), 16)}`;
  private readonly hosts: NetHost[] = [];
  private destroyed = false;
  /** Unknown until first tried. */
  private hasNetem: boolean | undefined;

  constructor() {
    process.once('exit', () => this.destroy());
    run(IP, 'link', 'add', this.bridge, 'type', 'bridge');
    run(IP, 'link', 'set', this.bridge, 'up');
  }

  /** Whether this process can build namespaces: root, with iproute2 and tc. */
  /** As root, with iproute2 (installed here when missing, as the benchmarks install etcd). */
  static available(): boolean {
    if (process.getuid?.() !== 0) return false;
    try {
      ensureInstalled('tc', 'iproute2');
      execFileSync(TC, ['-V'], { stdio: 'ignore' });
      execFileSync(IP, ['-V'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  /** A new namespace with an address on the bridge. */
  addHost(): NetHost {
    const index = this.hosts.length;
    if (index > 200) throw new Error('more than 200 hosts on one packet network');
    const namespace = `imdgo-${this.runId}-${index}`;
    const veth = `imv${this.runId}${index}`;
    const inner = `imp${this.runId}${index}`;
    const address = `${this.subnet}.${10 + index}`;
    run(IP, 'netns', 'add', namespace);
    const host: NetHost = { namespace, address, id: `${address}:${PORT}`, veth };
    this.hosts.push(host);
    run(IP, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', inner);
    run(IP, 'link', 'set', inner, 'netns', namespace);
    run(IP, 'link', 'set', veth, 'master', this.bridge);
    run(IP, 'link', 'set', veth, 'up');
    inNamespace(namespace, IP, 'link', 'set', 'lo', 'up');
    inNamespace(namespace, IP, 'link', 'set', inner, 'name', 'eth0');
    inNamespace(namespace, IP, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    inNamespace(namespace, IP, 'link', 'set', 'eth0', 'up');
    return host;
  }

  hostOf(id: string): NetHost | undefined {
    return this.hosts.find((h) => h.id === id);
  }

  /**
   * Shapes every packet to and from `host` with netem; where the kernel has no netem (as on this
   * project's test machine), with a token bucket instead: a slow rate and a short queue, so packets are
   * delayed and the overflow dropped (no duplication or reordering then). Returns what it applied.
   */
  netem(host: NetHost, n: Netem): string {
    const netem = [
      'delay',
      `${n.delayMs}ms`,
      `${n.jitterMs}ms`,
      'loss',
      `${n.lossPercent}%`,
      'duplicate',
      `${n.duplicatePercent}%`,
      'reorder',
      `${n.reorderPercent}%`,
      '50%',
    ];
    // The slower the link, the longer its queue takes to drain: 64 kbit/s to 1 Mbit/s.
    const rateKbit = Math.round(64 + (1 - n.lossPercent / 20) * 960);
    const tbf = ['tbf', 'rate', `${rateKbit}kbit`, 'burst', '4kb', 'latency', `${n.delayMs + n.jitterMs}ms`];
    for (const spec of this.hasNetem === false ? [tbf] : [['netem', ...netem], tbf]) {
      try {
        run(TC, 'qdisc', 'replace', 'dev', host.veth, 'root', ...spec);
        inNamespace(host.namespace, TC, 'qdisc', 'replace', 'dev', 'eth0', 'root', ...spec);
        this.hasNetem = spec[0] === 'netem';
        return spec.join(' ');
      } catch (error) {
        if (spec[0] !== 'netem') throw error;
        this.hasNetem = false;
      }
    }
    throw new Error('unreachable: tbf either applied or threw');
  }

  /** Drops, on `host`, every packet it sends to `peers` (both sides call it for a two-way cut). */
  block(host: NetHost, peers: readonly NetHost[]): void {
    for (const peer of peers) {
      inNamespace(host.namespace, IP, 'route', 'replace', 'blackhole', `${peer.address}/32`);
    }
  }

  /** Removes every shaping and every blackhole route. */
  heal(): void {
    for (const host of this.hosts) {
      tryRun(TC, 'qdisc', 'del', 'dev', host.veth, 'root');
      tryRun(IP, 'netns', 'exec', host.namespace, TC, 'qdisc', 'del', 'dev', 'eth0', 'root');
      tryRun(IP, 'netns', 'exec', host.namespace, IP, 'route', 'flush', 'type', 'blackhole');
    }
  }

  /** Synchronous, so that it runs from the exit event too; deleting a namespace deletes its veth pair. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const host of this.hosts) tryRun(IP, 'netns', 'delete', host.namespace);
    tryRun(IP, 'link', 'delete', this.bridge);
  }
}

function run(command: string, ...args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tryRun(command: string, ...args: string[]): void {
  try {
    run(command, ...args);
  } catch {
    // Already gone, or never made: nothing to undo.
  }
}

function inNamespace(namespace: string, command: string, ...args: string[]): void {
  run(IP, 'netns', 'exec', namespace, command, ...args);
}

/** How to start a process inside `namespace` with child_process.fork (the IPC channel survives the exec). */
export function forkInNamespace(namespace: string): { execPath: string; execArgv: string[] } {
  return { execPath: IP, execArgv: ['netns', 'exec', namespace, process.execPath] };
}
