import type { FailoverResult, MemoryResult, Mode, ResultRow, RssBreakdown, SystemName } from './results.ts';
import type { Workload } from './load/kv-client.ts';

const SYSTEM_ORDER: readonly SystemName[] = ['imdgo', 'etcd', 'etcd-disk', 'redis'];
const WORKLOAD_ORDER: readonly Workload[] = ['write', 'read', 'mix', 'local-peek', 'local-get'];

/** The rounds of one row (same system, mode, workload, concurrency, target, loop) taken together. */
export interface RoundsRow extends Omit<ResultRow, 'round'> {
  readonly rounds: number;
  /** The lowest and highest throughput of the rounds; opsPerSec is their median. */
  readonly opsMin: number;
  readonly opsMax: number;
}

export interface Ratio {
  readonly opsRatioVsEtcd: number;
  readonly p99RatioVsEtcd: number | null;
}

/**
 * Groups the rounds of each row: medians of throughput, percentiles and CPU, the throughput's min-max, the
 * highest max latency and the errors added up.
 */
export function combineRounds(rows: readonly ResultRow[]): RoundsRow[] {
  const groups = new Map<string, ResultRow[]>();
  for (const row of rows) {
    const key = [row.mode, row.system, row.workload, row.concurrency, row.on, row.arrivalPerSec].join('|');
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const { round: _round, ...first } = group[0]!;
    const ops = group.map((row) => row.opsPerSec);
    return {
      ...first,
      rounds: group.length,
      ops: group.reduce((sum, row) => sum + row.ops, 0),
      errors: group.reduce((sum, row) => sum + row.errors, 0),
      opsPerSec: median(ops)!,
      opsMin: Math.min(...ops),
      opsMax: Math.max(...ops),
      p50Ms: median(group.map((row) => row.p50Ms)),
      p99Ms: median(group.map((row) => row.p99Ms)),
      maxMs: group.reduce<number | null>((max, row) => maxOf(max, row.maxMs), null),
      meanMs: median(group.map((row) => row.meanMs)),
      clientCpuUsPerOp: median(group.map((row) => row.clientCpuUsPerOp)),
      serverCpuUsPerOp: median(group.map((row) => row.serverCpuUsPerOp)),
      firstError: group.find((row) => row.firstError !== null)?.firstError ?? null,
    };
  });
}

/**
 * imdgo against etcd (data on tmpfs or --data-dir) for the same mode, workload, concurrency, target and
 * loop. Local reads are set against etcd's serializable reads at the same concurrency.
 */
export function ratioToEtcd(row: RoundsRow, rows: readonly RoundsRow[]): Ratio | null {
  if (row.system !== 'imdgo') return null;
  const local = row.workload.startsWith('local-');
  const etcd = rows.find(
    (other) =>
      other.system === 'etcd' &&
      other.mode === row.mode &&
      other.concurrency === row.concurrency &&
      other.arrivalPerSec === row.arrivalPerSec &&
      (local ? other.workload === 'local-get' : other.workload === row.workload && other.on === row.on),
  );
  if (!etcd || etcd.opsPerSec === 0) return null;
  return {
    opsRatioVsEtcd: row.opsPerSec / etcd.opsPerSec,
    p99RatioVsEtcd: row.p99Ms !== null && etcd.p99Ms ? row.p99Ms / etcd.p99Ms : null,
  };
}

export function sortRows<T extends RoundsRow>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    const i = ra.findIndex((value, k) => value !== rb[k]);
    return i < 0 ? 0 : ra[i]! - rb[i]!;
  });
}

export function formatRow(row: RoundsRow, ratio: Ratio | null = null): string {
  const spread =
    row.rounds > 1 ? `${thousands(row.opsMin)}-${thousands(row.opsMax)}` : `(1 round)`.padStart(6);
  const cells = [
    (row.arrivalPerSec === undefined ? row.workload : `${row.workload}@${row.arrivalPerSec}/s`).padEnd(16),
    String(row.concurrency).padStart(4),
    row.on.padEnd(8),
    `${row.system}${row.durable ? '' : '*'}`.padEnd(10),
    thousands(row.opsPerSec).padStart(11),
    spread.padStart(17),
    formatMs(row.p50Ms).padStart(8),
    formatMs(row.p99Ms).padStart(8),
    formatMs(row.maxMs).padStart(8),
    String(row.errors).padStart(6),
    formatCpu(row.clientCpuUsPerOp).padStart(7),
    formatCpu(row.serverCpuUsPerOp).padStart(7),
  ];
  if (ratio) {
    const p99 = ratio.p99RatioVsEtcd === null ? '' : `, p99 ×${ratio.p99RatioVsEtcd.toFixed(2)}`;
    cells.push(`  ops ×${ratio.opsRatioVsEtcd.toFixed(1)}${p99}`);
  }
  return cells.join(' ');
}

/** One round's row as it completes. */
export function formatRound(row: ResultRow): string {
  return `${formatRow(combineRounds([row])[0]!)}  [${row.mode}, round ${row.round}]`;
}

export const TABLE_HEADER = [
  'workload'.padEnd(16),
  'conc'.padStart(4),
  'on'.padEnd(8),
  'system'.padEnd(10),
  'ops/s (med)'.padStart(11),
  'ops/s min-max'.padStart(17),
  'p50 ms'.padStart(8),
  'p99 ms'.padStart(8),
  'max ms'.padStart(8),
  'errors'.padStart(6),
  'cli µs'.padStart(7),
  'srv µs'.padStart(7),
  '  imdgo/etcd',
].join(' ');

const TABLE_TITLE: Record<Mode, string> = {
  app:
    'What a Nest app gets: ImdgoStore in the app process against etcd3 / ioredis from an app process' +
    '\n(client CPU: the app process; for imdgo that process is also a replica. server CPU: the other processes)',
  wire:
    "The service over the wire: one external load generator (one HTTP client for both, keep-alive) against imdgo's demo REST API " +
    "and etcd's JSON gateway\n(client CPU: the load generator; server CPU: the three nodes)",
};

export function printSummary(
  rows: readonly ResultRow[],
  failovers: readonly FailoverResult[],
  memory: readonly MemoryResult[],
): void {
  const combined = combineRounds(rows);
  for (const mode of ['app', 'wire'] as const) {
    const table = combined.filter((row) => row.mode === mode);
    if (table.length === 0) continue;
    console.log(`\n${TABLE_TITLE[mode]}; * = not durable (memory only)\n${TABLE_HEADER}`);
    for (const row of sortRows(table)) console.log(formatRow(row, ratioToEtcd(row, combined)));
  }
  for (const row of combined.filter((r) => r.firstError !== null)) {
    console.log(
      `  ${row.mode} ${row.system} ${row.workload} c${row.concurrency} ${row.on}: first error: ${row.firstError}`,
    );
  }
  for (const f of failovers) {
    const fault = { kill: 'kill -9 the leader', stop: 'SIGSTOP the leader', cut: "cut the leader's links" }[
      f.fault
    ];
    console.log(
      `\nfailover ${f.system} (${fault}, ${f.concurrency} writers on a follower): first write after ` +
        `the fault median ${msOrNone(f.medianMs)}, max ${msOrNone(f.maxMs)} [${list(f.samplesMs)} ms]; every ` +
        `writer median ${msOrNone(f.allWritersMedianMs)}, max ${msOrNone(f.allWritersMaxMs)} ` +
        `[${list(f.allWritersMs)} ms]; member healthy again after [${f.rejoinMs.join(', ')}] ms`,
    );
  }
  const redis = memory.find((m) => m.system === 'redis');
  for (const m of memory) {
    const ofRedis = redis && m !== redis ? `, ×${(m.rssBytes / redis.rssBytes).toFixed(2)} Redis's` : '';
    const heap =
      m.heapGrowthBytes === undefined
        ? ''
        : `; heap +${mb(m.heapGrowthBytes)}, external +${mb(m.externalGrowthBytes!)} ` +
          `(ArrayBuffers +${mb(m.arrayBufferGrowthBytes!)}): ×${m.ratioToRaw!.toFixed(2)} raw`;
    console.log(
      `\nmemory ${m.system} (${m.node === 'follower' ? 'a follower of 3' : 'single server'}), ` +
        `${m.keys.toLocaleString('en-US')} keys, ${mb(m.rawBytes)} raw (keys + values): ` +
        `RSS ${mb(m.rssBytes)} (+${mb(m.rssGrowthBytes)})${ofRedis}${heap}`,
    );
    if (m.rssAtRestBytes !== undefined) {
      const restOfRedis =
        redis?.rssAtRestBytes !== undefined && m !== redis
          ? `, ×${(m.rssAtRestBytes / redis.rssAtRestBytes).toFixed(2)} Redis's at rest`
          : '';
      console.log(`  after ${m.restSeconds} s at rest: RSS ${mb(m.rssAtRestBytes)}${restOfRedis}`);
    }
    if (m.breakdown) console.log(`  ${rssBreakdown(m.rssBytes, m.breakdown, m.rssAfterReducingGcBytes!)}`);
  }
}

function rssBreakdown(rss: number, b: RssBreakdown, afterReducingGc: number): string {
  const other = rss - b.heapCommittedBytes - b.mallocArenaBytes - b.fileBackedBytes;
  return (
    `RSS: V8 heap ${mb(b.heapCommittedBytes)} committed (${mb(b.heapUsedBytes)} live, young generation ` +
    `${mb(b.newSpaceBytes)}), C heap main arena ${mb(b.mallocArenaBytes)} (external ${mb(b.externalBytes)} ` +
    `live in it or elsewhere), node binary ${mb(b.fileBackedBytes)}, other ${mb(other)} (pages V8 freed but ` +
    `kept, thread arenas, stacks); after V8's memory-pressure collection, forced at the end: RSS ${mb(afterReducingGc)}`
  );
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function rank(row: RoundsRow): number[] {
  return [
    WORKLOAD_ORDER.indexOf(row.workload),
    row.arrivalPerSec ?? 0,
    row.concurrency,
    row.on === 'follower' ? 1 : 0,
    SYSTEM_ORDER.indexOf(row.system),
  ];
}

function median(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const mid = known.length >> 1;
  return known.length % 2 === 1 ? known[mid]! : (known[mid - 1]! + known[mid]!) / 2;
}

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function thousands(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function formatCpu(value: number | null): string {
  return value === null ? '-' : value.toFixed(value < 10 ? 2 : 0);
}

function formatMs(value: number | null): string {
  return value === null ? '-' : value < 1 ? value.toPrecision(3) : value.toFixed(2);
}

function list(samples: readonly (number | null)[]): string {
  return samples.map((s) => (s === null ? 'none' : s.toFixed(0))).join(', ');
}

function msOrNone(ms: number | null): string {
  return ms === null ? 'none' : `${ms.toFixed(0)} ms`;
}
