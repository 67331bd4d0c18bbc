import type { LoadSummary } from '../load/latency.ts';

/** `write`: `PUT /kv/:key`; `read`: `GET /kv/:key`, a linearizable read (ReadIndex). */
export type ScaleWorkload = 'write' | 'read';

/** What loading the dataset left on each node, measured once per cluster. */
export interface ClusterFootprint {
  /** Keys loaded (each once, spread over all nodes). */
  readonly keys: number;
  /**
   * Mean over nodes of what loading grew the V8 heap plus ArrayBuffer stores by (the Raft log's encoded
   * entries live there), after a full collection on each node, in bytes.
   */
  readonly bytesPerNode: number;
  readonly maxBytesPerNode: number;
  /** Mean over nodes of the resident-memory growth from loading (includes heap not yet given back). */
  readonly rssBytesPerNode: number;
  /** Mean live keys a node holds (its `imdgo_keys`); null with partitions > 1, where that gauge covers less. */
  readonly keysPerNode: number | null;
  /** Mean partitions a node holds a replica of (`imdgo_partitions`); 1 for the one-group mode. */
  readonly replicasPerNode: number;
}

/** CPU used over the measured window, in cores (1 = one core busy the whole window). */
export interface WindowCpu {
  readonly nodesCores: number;
  readonly generatorCores: number;
  /** Share of the nodes' CFS periods in which the kernel held a node back for having used its quota. */
  readonly throttledShare: number;
}

/** One `--json FILE` line of the scale benchmark: one cluster size, mode, workload and round. */
export interface ScaleRow {
  readonly kind: 'scale';
  readonly system: 'imdgo';
  readonly workload: ScaleWorkload;
  readonly consistency: 'linearizable';
  readonly nodes: number;
  readonly partitions: number;
  /** Cores each node's cgroup may use. */
  readonly nodeCpu: number;
  readonly round: number;
  readonly concurrency: number;
  readonly ops: number;
  readonly errors: number;
  readonly opsPerSec: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly bytesPerNode: number;
  /** How bytesPerNode was measured. */
  readonly bytesMeasure: 'heap+arraybuffers-growth-after-gc';
  readonly maxBytesPerNode: number;
  readonly rssBytesPerNode: number;
  readonly keys: number;
  readonly keysPerNode: number | null;
  readonly replicasPerNode: number;
  readonly nodesCpuCores: number;
  /** What the nodes' quotas allow together: nodes × nodeCpu. */
  readonly quotaCores: number;
  readonly throttledShare: number;
  readonly generatorCpuCores: number;
  readonly firstError: string | null;
}

export interface ScaleRowInput {
  readonly workload: ScaleWorkload;
  readonly nodes: number;
  readonly partitions: number;
  readonly nodeCpu: number;
  readonly round: number;
  readonly concurrency: number;
  readonly load: LoadSummary;
  readonly footprint: ClusterFootprint;
  readonly cpu: WindowCpu;
}

export function scaleRow(input: ScaleRowInput): ScaleRow {
  const { load, footprint, cpu } = input;
  return {
    kind: 'scale',
    system: 'imdgo',
    workload: input.workload,
    consistency: 'linearizable',
    nodes: input.nodes,
    partitions: input.partitions,
    nodeCpu: input.nodeCpu,
    round: input.round,
    concurrency: input.concurrency,
    ops: load.ops,
    errors: load.errors,
    opsPerSec: load.opsPerSec,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    bytesPerNode: footprint.bytesPerNode,
    bytesMeasure: 'heap+arraybuffers-growth-after-gc',
    maxBytesPerNode: footprint.maxBytesPerNode,
    rssBytesPerNode: footprint.rssBytesPerNode,
    keys: footprint.keys,
    keysPerNode: footprint.keysPerNode,
    replicasPerNode: footprint.replicasPerNode,
    nodesCpuCores: cpu.nodesCores,
    quotaCores: input.nodes * input.nodeCpu,
    throttledShare: cpu.throttledShare,
    generatorCpuCores: cpu.generatorCores,
    firstError: load.firstError,
  };
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

/** One line of the summary: the rounds of one mode, workload and cluster size. */
export interface ScaleSummary {
  readonly partitions: number;
  readonly workload: ScaleWorkload;
  readonly nodes: number;
  readonly rounds: number;
  readonly opsPerSec: Spread;
  readonly bytesPerNode: number;
  readonly replicasPerNode: number;
  readonly nodesCpuCores: number;
  readonly quotaCores: number;
  readonly generatorCpuCores: number;
  readonly errors: number;
}

const keyOf = (row: Pick<ScaleRow, 'partitions' | 'workload' | 'nodes'>) =>
  `${row.partitions}/${row.workload}/${row.nodes}`;

/** Rows grouped by mode, workload and size, in that order (sizes ascending). */
export function summarize(rows: readonly ScaleRow[]): ScaleSummary[] {
  const groups = new Map<string, ScaleRow[]>();
  for (const row of rows) {
    const group = groups.get(keyOf(row));
    if (group) group.push(row);
    else groups.set(keyOf(row), [row]);
  }
  return [...groups.values()]
    .map((group): ScaleSummary => {
      const first = group[0]!;
      return {
        partitions: first.partitions,
        workload: first.workload,
        nodes: first.nodes,
        rounds: group.length,
        opsPerSec: spreadOf(group.map((row) => row.opsPerSec)),
        bytesPerNode: first.bytesPerNode,
        replicasPerNode: first.replicasPerNode,
        nodesCpuCores: spreadOf(group.map((row) => row.nodesCpuCores)).median,
        quotaCores: first.quotaCores,
        generatorCpuCores: spreadOf(group.map((row) => row.generatorCpuCores)).median,
        errors: group.reduce((sum, row) => sum + row.errors, 0),
      };
    })
    .sort((a, b) => a.partitions - b.partitions || a.workload.localeCompare(b.workload) || a.nodes - b.nodes);
}

/** The largest cluster against the smallest, per mode and workload. */
export interface ScaleRatio {
  readonly partitions: number;
  readonly workload: ScaleWorkload;
  readonly fromNodes: number;
  readonly toNodes: number;
  /** Median against median. */
  readonly opsRatio: number;
  /** The worst and best pairing of rounds: lowest over highest, highest over lowest. */
  readonly opsRatioLow: number;
  readonly opsRatioHigh: number;
  readonly bytesPerNodeRatio: number;
}

export function scaleRatios(summaries: readonly ScaleSummary[]): ScaleRatio[] {
  const ratios: ScaleRatio[] = [];
  const modes = new Map<string, ScaleSummary[]>();
  for (const summary of summaries) {
    const mode = `${summary.partitions}/${summary.workload}`;
    modes.set(mode, [...(modes.get(mode) ?? []), summary]);
  }
  for (const sizes of modes.values()) {
    if (sizes.length < 2) continue;
    const ordered = [...sizes].sort((a, b) => a.nodes - b.nodes);
    const from = ordered[0]!;
    const to = ordered.at(-1)!;
    ratios.push({
      partitions: from.partitions,
      workload: from.workload,
      fromNodes: from.nodes,
      toNodes: to.nodes,
      opsRatio: to.opsPerSec.median / from.opsPerSec.median,
      opsRatioLow: to.opsPerSec.min / from.opsPerSec.max,
      opsRatioHigh: to.opsPerSec.max / from.opsPerSec.min,
      bytesPerNodeRatio: to.bytesPerNode / from.bytesPerNode,
    });
  }
  return ratios;
}

export function formatSummaries(summaries: readonly ScaleSummary[], ratios: readonly ScaleRatio[]): string {
  const lines = [
    'partitions workload nodes rounds   ops/s median (min-max)  node CPU used/quota  generator CPU  replicas/node  heap/node  errors',
  ];
  for (const s of summaries) {
    lines.push(
      [
        String(s.partitions).padStart(10),
        s.workload.padEnd(8),
        String(s.nodes).padStart(5),
        String(s.rounds).padStart(6),
        `${fixed(s.opsPerSec.median, 0).padStart(12)} (${fixed(s.opsPerSec.min, 0)}-${fixed(s.opsPerSec.max, 0)})`.padEnd(
          26,
        ),
        `${fixed(s.nodesCpuCores, 2)}/${fixed(s.quotaCores, 2)} cores`.padStart(19),
        `${fixed(s.generatorCpuCores, 2)} cores`.padStart(14),
        fixed(s.replicasPerNode, 1).padStart(13),
        mib(s.bytesPerNode).padStart(10),
        String(s.errors).padStart(7),
      ].join(' '),
    );
  }
  if (ratios.length > 0) lines.push('');
  for (const r of ratios) {
    lines.push(
      `${r.partitions} partition(s), ${r.workload}: ${r.toNodes} vs ${r.fromNodes} nodes ` +
        `${fixed(r.opsRatio, 2)}x ops/s (rounds paired worst-best ${fixed(r.opsRatioLow, 2)}-${fixed(r.opsRatioHigh, 2)}), ` +
        `${fixed(r.bytesPerNodeRatio, 2)}x heap per node`,
    );
  }
  return lines.join('\n');
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
