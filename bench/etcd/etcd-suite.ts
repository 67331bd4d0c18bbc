import { ensureInstalled } from '../apt.ts';
import { measureFailover, type FailoverRound, type FailoverTarget } from '../failover.ts';
import { BackgroundLoad } from '../load/background-load.ts';
import { runClosedLoop } from '../load/closed-loop.ts';
import { ownCpuUs, withCpuPerOp } from '../load/cpu.ts';
import { makeDataset, type Dataset } from '../load/dataset.ts';
import { operation, preload } from '../load/kv-client.ts';
import type { FailoverResult, ResultRow, RunSpec } from '../results.ts';
import { etcdClient, etcdKv } from './etcd-client.ts';
import { EtcdCluster } from './etcd-cluster.ts';

export interface EtcdSuiteOptions {
  /** `etcd` keeps its data on tmpfs (/dev/shm), `etcd-disk` on disk (/var/tmp, which stays off tmpfs). */
  readonly system: 'etcd' | 'etcd-disk';
  readonly runs: readonly RunSpec[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly failoverRounds: number;
  readonly failoverConcurrency: number;
  readonly verbose: boolean;
}

export interface EtcdSuiteResult {
  readonly rows: ResultRow[];
  readonly failover: FailoverResult | null;
}

const HEALTHY_TIMEOUT_MS = 60_000;
/**
 * Per-call deadline of the failover writers. A put left with a dead leader would otherwise wait for
 * etcd's own request timeout (7 s); imdgo's writes retry on their own, an etcd client must time out.
 */
const FAILOVER_CALL_TIMEOUT_MS = 200;

/** A 3-member etcd cluster (Debian's etcd-server) loaded through the etcd3 client from this process. */
export async function runEtcdSuite(
  options: EtcdSuiteOptions,
  onRow: (row: ResultRow) => void,
): Promise<EtcdSuiteResult> {
  const binary = ensureInstalled('etcd', 'etcd-server');
  const cluster = await EtcdCluster.start({
    binary,
    size: 3,
    dataParent: options.system === 'etcd' ? '/dev/shm' : '/var/tmp',
    verbose: options.verbose,
  });
  try {
    const data = makeDataset(options.keys, options.valueBytes);
    const loader = etcdClient((await cluster.leader()).clientUrl);
    await preload(etcdKv(loader), data);
    loader.close();
    const rows: ResultRow[] = [];
    for (const spec of options.runs) {
      const member = spec.on === 'leader' ? await cluster.leader() : await cluster.follower();
      const client = etcdClient(member.clientUrl);
      const kv = etcdKv(client, spec.workload === 'local-get');
      const window = { warmupMs: options.warmupMs, durationMs: options.durationMs };
      const summary = await withCpuPerOp(
        async () => cluster.cpuUs() + ownCpuUs(),
        options.warmupMs,
        () => runClosedLoop(operation(spec.workload, kv, data), spec.concurrency, window),
      );
      client.close();
      const row: ResultRow = { system: options.system, ...spec, ...summary };
      rows.push(row);
      onRow(row);
    }
    const failover =
      options.failoverRounds > 0
        ? await measureFailover(
            failoverTarget(cluster, options.system, data),
            options.failoverRounds,
            options.failoverConcurrency,
          )
        : null;
    return { rows, failover };
  } finally {
    await cluster.stop();
  }
}

function failoverTarget(cluster: EtcdCluster, system: 'etcd' | 'etcd-disk', data: Dataset): FailoverTarget {
  return {
    system,
    waitHealthy: () => cluster.waitHealthy(HEALTHY_TIMEOUT_MS),
    async startRound(concurrency): Promise<FailoverRound> {
      const leader = await cluster.leader();
      const client = etcdClient((await cluster.follower()).clientUrl);
      const kv = etcdKv(client, false, FAILOVER_CALL_TIMEOUT_MS);
      const load = new BackgroundLoad(operation('write', kv, data), concurrency);
      return {
        killLeader: () => cluster.kill(leader),
        firstSuccessAfter: (after, timeoutMs) => load.firstSuccessAfter(after, timeoutMs),
        stopLoad: async () => {
          await load.stop();
          client.close();
        },
        restartKilled: () => cluster.restart(leader),
      };
    },
  };
}
