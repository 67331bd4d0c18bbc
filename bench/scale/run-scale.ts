import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { LoadSummary } from '../load/latency.ts';
import { describeMachine, machineBusyShare } from '../machine-load.ts';
import { cgroupUnavailable } from './cgroup.ts';
import { ScaleCluster } from './scale-cluster.ts';
import { ScaleGeneratorProcess } from './scale-generator-process.ts';
import {
  formatSummaries,
  scaleRatios,
  scaleRow,
  summarize,
  type ClusterFootprint,
  type ScaleRow,
  type ScaleWorkload,
  type WindowCpu,
} from './scale-rows.ts';

export interface ScaleOptions {
  /** Cluster sizes, e.g. [3, 6]. */
  readonly sizes: readonly number[];
  readonly nodeCpu: number;
  /** The partitioned mode's partition count; 1: only the one-group mode runs. */
  readonly partitions: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly rounds: number;
  /** Closed-loop workers per node: the load grows with the cluster, as clients would. */
  readonly concurrencyPerNode: number;
  readonly json: string | null;
  readonly verbose: boolean;
}

const WORKLOADS: readonly ScaleWorkload[] = ['write', 'read'];
/** Booting Nest on a quarter core takes a while; electing and placing many groups longer. */
const READY_TIMEOUT_MS = 180_000;
const RUN_SLACK_MS = 60_000;
/** About what the load generator uses at these rates (it reports its own use per row). */
const GENERATOR_CORES = 0.3;

interface Loaded {
  readonly cluster: ScaleCluster;
  readonly footprint: ClusterFootprint;
}

/**
 * `npm run bench -- --scale 3,6`: for the one-group mode and then the partitioned mode, one cluster per size
 * (each node in its own CPU cgroup), all loaded with the same keys; then rounds of writes and linearizable
 * reads, interleaved across the sizes so that other load on the machine hits them alike. Returns the exit
 * code.
 */
export async function runScale(options: ScaleOptions): Promise<number> {
  const unavailable = cgroupUnavailable();
  if (unavailable !== null) {
    console.error(`--scale: ${unavailable}`);
    return 2;
  }
  console.log(
    `imdgo scale-out benchmark: ${options.sizes.join(', ')} nodes, ${options.nodeCpu} core(s) per node ` +
      `(a CPU cgroup each), ${options.keys} keys, ${options.valueBytes}-byte values, ` +
      `${options.concurrencyPerNode} workers per node, ${options.warmupMs / 1000} s warm-up + ` +
      `${options.durationMs / 1000} s per run, ${options.rounds} round(s)`,
  );
  console.log(`machine: ${describeMachine(await machineBusyShare())}`);
  const largestQuota = Math.max(...options.sizes) * options.nodeCpu;
  if (largestQuota + GENERATOR_CORES > availableParallelism()) {
    console.log(
      `warning: ${Math.max(...options.sizes)} nodes × ${options.nodeCpu} cores plus the load generator ` +
        `exceed this machine's ${availableParallelism()} cores: the largest cluster cannot get its quota, ` +
        'so it is the machine, not the quota, that limits it (a smaller --node-cpu avoids that)',
    );
  }
  console.log();
  const generator = await ScaleGeneratorProcess.start({ keys: options.keys, valueBytes: options.valueBytes });
  const rows: ScaleRow[] = [];
  const notRun: string[] = [];
  try {
    for (const partitions of options.partitions === 1 ? [1] : [1, options.partitions]) {
      const started: ScaleCluster[] = [];
      const loaded: Loaded[] = [];
      try {
        for (const nodes of options.sizes) {
          const cluster = await ScaleCluster.start({
            nodes,
            nodeCpu: options.nodeCpu,
            partitions,
            readyTimeoutMs: READY_TIMEOUT_MS,
            verbose: options.verbose,
          });
          started.push(cluster);
          loaded.push({ cluster, footprint: await loadKeys(cluster, generator, options) });
          console.log(`${cluster.label}: loaded, ${describeFootprint(loaded.at(-1)!.footprint)}`);
        }
        for (let round = 1; round <= options.rounds; round++) {
          for (const workload of WORKLOADS) {
            for (const { cluster, footprint } of loaded) {
              const row = await measure(cluster, footprint, generator, options, workload, round);
              rows.push(row);
              console.log(describeRow(row));
            }
          }
        }
      } catch (error) {
        for (const exit of started.flatMap((cluster) => cluster.nodes.flatMap((node) => node.exit ?? []))) {
          console.error(exit);
        }
        // Partitioned mode needs a library with the `partitions` option; the one-group rows still count.
        if (partitions === 1) throw error;
        notRun.push(`${partitions} partitions: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        for (const cluster of started) await cluster.stop();
      }
    }
  } finally {
    await generator.stop();
  }
  const summaries = summarize(rows);
  console.log(`\n${formatSummaries(summaries, scaleRatios(summaries))}`);
  for (const line of notRun) console.log(`not run: ${line}`);
  if (options.json !== null) {
    writeFileSync(options.json, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    console.log(`\nresults written to ${options.json}`);
  }
  return rows.some((row) => row.ops === 0) || notRun.length > 0 ? 1 : 0;
}

/** Writes every key once through all nodes; the heap growth it leaves per node, after full collections. */
async function loadKeys(
  cluster: ScaleCluster,
  generator: ScaleGeneratorProcess,
  options: ScaleOptions,
): Promise<ClusterFootprint> {
  const before = await cluster.memory();
  await generator.request(
    {
      kind: 'preload',
      urls: cluster.nodes.map((node) => node.url),
      concurrency: options.concurrencyPerNode * cluster.nodes.length,
    },
    Math.max(600_000, options.keys * 50),
  );
  const after = await cluster.memory();
  const held = await cluster.held();
  const partitioned = cluster.options.partitions > 1;
  const grown = after.map(
    (m, i) => m.heapUsed + m.arrayBuffers - before[i]!.heapUsed - before[i]!.arrayBuffers,
  );
  const rssGrown = after.map((m, i) => m.rss - before[i]!.rss);
  return {
    keys: options.keys,
    bytesPerNode: mean(grown),
    maxBytesPerNode: Math.max(...grown),
    rssBytesPerNode: mean(rssGrown),
    keysPerNode: partitioned ? null : mean(held.map((h) => h.keys)),
    replicasPerNode: partitioned ? mean(held.map((h) => h.partitions)) : 1,
  };
}

/** One closed-loop run over all nodes; CPU (nodes, generator) and throttling over its measured window. */
async function measure(
  cluster: ScaleCluster,
  footprint: ClusterFootprint,
  generator: ScaleGeneratorProcess,
  options: ScaleOptions,
  workload: ScaleWorkload,
  round: number,
): Promise<ScaleRow> {
  const concurrency = options.concurrencyPerNode * cluster.nodes.length;
  const window = { warmupMs: options.warmupMs, durationMs: options.durationMs };
  const running = generator.request<LoadSummary>(
    { kind: 'run', urls: cluster.nodes.map((node) => node.url), workload, concurrency, window },
    window.warmupMs + window.durationMs + RUN_SLACK_MS,
  );
  // Awaited below; this only keeps a failure during the warm-up from counting as unhandled.
  running.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, window.warmupMs));
  const from = sample(cluster, generator);
  const load = await running;
  const to = sample(cluster, generator);
  const elapsedUs = (to.at - from.at) * 1000;
  const periods = to.throttling.periods - from.throttling.periods;
  const cpu: WindowCpu = {
    nodesCores: (to.nodesUs - from.nodesUs) / elapsedUs,
    generatorCores: (to.generatorUs - from.generatorUs) / elapsedUs,
    throttledShare:
      periods > 0 ? (to.throttling.throttledPeriods - from.throttling.throttledPeriods) / periods : 0,
  };
  return scaleRow({
    workload,
    nodes: cluster.options.nodes,
    partitions: cluster.options.partitions,
    nodeCpu: options.nodeCpu,
    round,
    concurrency,
    load,
    footprint,
    cpu,
  });
}

function sample(cluster: ScaleCluster, generator: ScaleGeneratorProcess) {
  return {
    at: performance.now(),
    nodesUs: cluster.cpuUs(),
    generatorUs: generator.cpuUs(),
    throttling: cluster.throttling(),
  };
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function describeFootprint(footprint: ClusterFootprint): string {
  return (
    `${footprint.keysPerNode === null ? '' : `${Math.round(footprint.keysPerNode)} keys, `}` +
    `${footprint.replicasPerNode.toFixed(1)} group replicas per node, heap +${(footprint.bytesPerNode / 2 ** 20).toFixed(1)} MiB ` +
    `per node (max ${(footprint.maxBytesPerNode / 2 ** 20).toFixed(1)}), RSS +${(footprint.rssBytesPerNode / 2 ** 20).toFixed(1)} MiB`
  );
}

function describeRow(row: ScaleRow): string {
  return (
    `round ${row.round} ${row.partitions} partition(s) ${row.workload.padEnd(5)} ${row.nodes} nodes: ` +
    `${row.opsPerSec.toFixed(0)} ops/s, p50 ${row.p50Ms?.toFixed(1) ?? '-'} ms, p99 ${row.p99Ms?.toFixed(1) ?? '-'} ms, ` +
    `${row.errors} errors, nodes ${row.nodesCpuCores.toFixed(2)}/${row.quotaCores.toFixed(2)} cores ` +
    `(throttled ${(row.throttledShare * 100).toFixed(0)}% of periods), generator ${row.generatorCpuCores.toFixed(2)} cores` +
    (row.firstError === null ? '' : `; first error: ${row.firstError}`)
  );
}
