import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Etcd3, IStatusResponse } from 'etcd3';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { monotonicMs } from '../load/clock.ts';
import { processCpuUs } from '../load/cpu.ts';
import { isRunning, makeTempDir, removeTempDir, terminate, track } from '../../scripts/child-processes.ts';
import { etcdClient } from './etcd-client.ts';
import { NamespaceNetwork } from './namespace-network.ts';

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** Its place in the cluster (and its namespace, with namespaces). */
  readonly index: number;
  process: ChildProcess;
  /** For status calls only. */
  readonly admin: Etcd3;
}

export interface EtcdClusterOptions {
  readonly binary: string;
  readonly size: number;
  /** Where the members' data directories go: /dev/shm for tmpfs, or a directory on disk. */
  readonly dataParent: string;
  /** Each member in its own network namespace, so that `cut` can drop its links; otherwise loopback. */
  readonly namespaces: boolean;
  readonly verbose: boolean;
}

const STATUS_TIMEOUT_MS = 1_000;
const POLL_MS = 100;
const CAUGHT_UP_ENTRIES = 10;

/**
 * A cluster of etcd members on loopback ports (or each in its network namespace), with their data in one
 * temporary directory.
 */
export class EtcdCluster {
  readonly members: EtcdMember[];
  private readonly options: EtcdClusterOptions;
  private readonly initialCluster: string;
  private readonly root: string;
  private readonly network: NamespaceNetwork | null;

  private constructor(
    options: EtcdClusterOptions,
    members: EtcdMember[],
    root: string,
    initialCluster: string,
    network: NamespaceNetwork | null,
  ) {
    this.options = options;
    this.members = members;
    this.root = root;
    this.initialCluster = initialCluster;
    this.network = network;
  }

  static async start(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const root = makeTempDir(options.dataParent, 'imdgo-bench-etcd-');
    const network = options.namespaces ? new NamespaceNetwork(options.size) : null;
    const addresses: { name: string; clientUrl: string; peerUrl: string; index: number }[] = [];
    for (let i = 0; i < options.size; i++) {
      const host = network?.addresses[i] ?? '127.0.0.1';
      // In its own namespace a member has every port to itself.
      const [clientPort, peerPort] = network ? [2379, 2380] : [await freePort(), await freePort()];
      const name = `etcd${i + 1}`;
      addresses.push({
        name,
        clientUrl: `http://${host}:${clientPort}`,
        peerUrl: `http://${host}:${peerPort}`,
        index: i,
      });
    }
    const initialCluster = addresses.map((a) => `${a.name}=${a.peerUrl}`).join(',');
    const members = addresses.map((address): EtcdMember => {
      const dataDir = join(root, address.name);
      return {
        ...address,
        dataDir,
        process: launch(options, { ...address, dataDir }, initialCluster, root, network),
        admin: etcdClient(address.clientUrl),
      };
    });
    const cluster = new EtcdCluster(options, members, root, initialCluster, network);
    await cluster.waitHealthy(30_000);
    return cluster;
  }

  async leader(): Promise<EtcdMember> {
    return (await this.roles()).leader;
  }

  async follower(): Promise<EtcdMember> {
    return (await this.roles()).followers[0]!;
  }

  /** CPU µs used so far by the member processes running now. */
  cpuUs(): number {
    return this.members.reduce((sum, member) => sum + processCpuUs(member.process.pid!), 0);
  }

  /** kill -9; returns the monotonic time right after the signal was sent. */
  kill(member: EtcdMember): number {
    process.kill(member.process.pid!, 'SIGKILL');
    return monotonicMs();
  }

  /** SIGSTOP or SIGCONT to a member; returns the monotonic time right after the signal was sent. */
  signal(member: EtcdMember, signal: 'SIGSTOP' | 'SIGCONT'): number {
    process.kill(member.process.pid!, signal);
    return monotonicMs();
  }

  /** Starts a killed member again on its data directory. */
  async restart(member: EtcdMember): Promise<void> {
    if (isRunning(member.process)) await new Promise((resolve) => member.process.once('exit', resolve));
    member.process = launch(this.options, member, this.initialCluster, this.root, this.network);
  }

  /** Drops everything on `member`'s links, without closing a connection (namespaces only). */
  cut(member: EtcdMember): void {
    if (!this.network) throw new Error('the etcd cluster runs on loopback: start it with namespaces to cut');
    this.network.cut(member.index);
  }

  heal(): void {
    this.network?.heal();
  }

  /** Until every member answers, all agree on one leader and each has applied the leader's log. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const problem = await this.healthProblem().catch((error: Error) => error.message);
      if (problem === null) return;
      last = problem;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`the etcd cluster is not healthy after ${timeoutMs} ms: ${last}`);
  }

  async stop(): Promise<void> {
    for (const member of this.members) member.admin.close();
    await Promise.all(this.members.map((member) => terminate(member.process)));
    removeTempDir(this.root);
    this.network?.remove();
  }

  private async statuses(): Promise<IStatusResponse[]> {
    return Promise.all(
      this.members.map((member) =>
        member.admin.maintenance.status({ deadline: Date.now() + STATUS_TIMEOUT_MS }),
      ),
    );
  }

  private async roles(): Promise<{ leader: EtcdMember; followers: EtcdMember[] }> {
    await this.waitHealthy(30_000);
    const statuses = await this.statuses();
    const at = statuses.findIndex((s) => s.header.member_id === s.leader);
    if (at < 0) throw new Error('no etcd member is the leader');
    return { leader: this.members[at]!, followers: this.members.filter((_, i) => i !== at) };
  }

  private async healthProblem(): Promise<string | null> {
    const down = this.members.find((member) => !isRunning(member.process));
    if (down) return `${down.name} is not running`;
    const statuses = await this.statuses();
    const leader = statuses[0]!.leader;
    if (leader === '0') return 'no leader';
    const top = Math.max(...statuses.map((s) => Number(s.raftIndex)));
    for (const [i, status] of statuses.entries()) {
      const name = this.members[i]!.name;
      if (status.leader !== leader) return `${name} sees leader ${status.leader}, not ${leader}`;
      if (Number(status.raftIndex) < top - CAUGHT_UP_ENTRIES)
        return `${name} is at ${status.raftIndex} of ${top}`;
    }
    return null;
  }
}

/** One member process; the flags that set up the cluster are ignored when its data directory exists. */
function launch(
  options: EtcdClusterOptions,
  member: { name: string; clientUrl: string; peerUrl: string; dataDir: string; index: number },
  initialCluster: string,
  token: string,
  network: NamespaceNetwork | null,
): ChildProcess {
  const args = [
    `--name=${member.name}`,
    `--data-dir=${member.dataDir}`,
    `--listen-client-urls=${member.clientUrl}`,
    `--advertise-client-urls=${member.clientUrl}`,
    `--listen-peer-urls=${member.peerUrl}`,
    `--initial-advertise-peer-urls=${member.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${token}`,
    '--logger=zap',
    '--log-level=error',
  ];
  const stdout = options.verbose ? 'inherit' : 'ignore';
  const [command, argv] = network
    ? network.command(member.index, options.binary, args)
    : [options.binary, args];
  return track(spawn(command, argv, { stdio: ['ignore', stdout, 'inherit'] }));
}
