import { ensureInstalled } from '../../scripts/apt.ts';
import { measureFailovers, type FailoverRound, type FailoverTarget } from '../failover.ts';
import { BackgroundLoad } from '../load/background-load.ts';
import { monotonicMs } from '../load/clock.ts';
import { runLoad } from '../load/run-load.ts';
import { ownCpuUs, withCpuPerOp } from '../load/cpu.ts';
import { makeDataset, type Dataset } from '../load/dataset.ts';
import { operation, preload } from '../load/kv-client.ts';
import type { FaultKind, RunSpec } from '../results.ts';
import type { BenchSystem } from '../system.ts';
import type { GeneratorProcess } from '../wire/generator-process.ts';
import { wireSystem } from '../wire/wire-system.ts';
import { etcdClient, etcdKv } from './etcd-client.ts';
import { EtcdCluster } from './etcd-cluster.ts';

export interface EtcdSuiteOptions {
  /** `etcd` keeps its data on tmpfs (/dev/shm) or --data-dir, `etcd-disk` on disk (/var/tmp). */
  readonly system: 'etcd' | 'etcd-disk';
  /** Where the members' data directories go. */
  readonly dataParent: string;
  readonly runs: readonly RunSpec[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly failoverRounds: number;
  readonly failoverConcurrency: number;
  readonly failoverFaults: readonly FaultKind[];
  readonly verbose: boolean;
  /** Also the wire system: these runs through the JSON gateway, by this load generator. */
  readonly wire: { readonly runs: readonly RunSpec[]; readonly generator: GeneratorProcess } | null;
}

const HEALTHY_TIMEOUT_MS = 60_000;
/**
 * Per-call deadline of the failover writers. A put left with a dead leader would otherwise wait for
 * etcd's own request timeout (7 s); imdgo's writes retry on their own, an etcd client must time out.
 */
const FAILOVER_CALL_TIMEOUT_MS = 200;

/**
 * A 3-member etcd cluster (Debian's etcd-server) loaded through the etcd3 client from this process (client
 * CPU is this process's, server CPU the three members'), and when asked the same cluster through its JSON
 * gateway by the wire table's load generator (first the app system, then the wire one). etcd always fsyncs its WAL: durable (on tmpfs the
 * fsync costs little, and the data does not outlive the machine).
 */
export async function openEtcd(options: EtcdSuiteOptions): Promise<BenchSystem[]> {
  const binary = ensureInstalled('etcd', 'etcd-server');
  const cluster = await EtcdCluster.start({
    binary,
    size: 3,
    dataParent: options.dataParent,
    namespaces: options.failoverFaults.includes('cut') && options.failoverRounds > 0,
    verbose: options.verbose,
  });
  const data = makeDataset(options.keys, options.valueBytes);
  try {
    const loader = etcdClient((await cluster.leader()).clientUrl);
    await preload(etcdKv(loader), data);
    loader.close();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const systems: BenchSystem[] = [];
  if (options.wire) {
    // The JSON gateway serves the same client port; the data is already loaded.
    systems.push(
      wireSystem({
        system: options.system,
        target: 'etcd',
        durable: true,
        runs: options.wire.runs,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        generator: options.wire.generator,
        urlOf: async (on) => (on === 'leader' ? await cluster.leader() : await cluster.follower()).clientUrl,
        serverCpuUs: () => cluster.cpuUs(),
        // The app system below stops the cluster.
        close: async () => {},
      }),
    );
  }
  systems.unshift({
    system: options.system,
    mode: 'app',
    durable: true,
    runs: options.runs,
    async run(spec, round) {
      const member = spec.on === 'leader' ? await cluster.leader() : await cluster.follower();
      const client = etcdClient(member.clientUrl);
      const kv = etcdKv(client, spec.workload === 'local-get');
      const window = { warmupMs: options.warmupMs, durationMs: options.durationMs };
      try {
        const summary = await withCpuPerOp(
          { client: async () => ownCpuUs(), server: async () => cluster.cpuUs() },
          options.warmupMs,
          () => runLoad(operation(spec.workload, kv, data), spec, window),
        );
        return { system: options.system, mode: 'app', durable: true, round, ...spec, ...summary };
      } finally {
        client.close();
      }
    },
    failover: () =>
      measureFailovers(
        failoverTarget(cluster, options.system, data),
        options.failoverRounds,
        options.failoverConcurrency,
        options.failoverFaults,
      ),
    close: () => cluster.stop(),
  });
  return systems;
}

function failoverTarget(cluster: EtcdCluster, system: 'etcd' | 'etcd-disk', data: Dataset): FailoverTarget {
  return {
    system,
    waitHealthy: () => cluster.waitHealthy(HEALTHY_TIMEOUT_MS),
    async startRound(concurrency): Promise<FailoverRound> {
      const leader = await cluster.leader();
      const follower = await cluster.follower();
      // Each writer its own client: one call's deadline resets its client's channel, which must not stall
      // the other writers.
      const clients = Array.from({ length: concurrency }, () => etcdClient(follower.clientUrl));
      const load = new BackgroundLoad(
        (writer) => operation('write', etcdKv(clients[writer]!, false, FAILOVER_CALL_TIMEOUT_MS), data),
        concurrency,
      );
      let fault: FaultKind | null = null;
      return {
        async fault(kind) {
          fault = kind;
          if (kind === 'stop') return cluster.signal(leader, 'SIGSTOP');
          if (kind === 'kill') return cluster.kill(leader);
          const cutAt = monotonicMs();
          cluster.cut(leader);
          return cutAt;
        },
        firstSuccessesAfter: (after, timeoutMs) => load.firstSuccessesAfter(after, timeoutMs),
        stopLoad: async () => {
          await load.stop();
          for (const client of clients) client.close();
        },
        recover: async () => {
          if (fault === 'stop') cluster.signal(leader, 'SIGCONT');
          else if (fault === 'cut') cluster.heal();
          else await cluster.restart(leader);
        },
      };
    },
  };
}
