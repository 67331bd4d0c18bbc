import { writeFileSync } from 'node:fs';
import type { FailoverResult, MemoryResult, ResultRow, SystemName } from './results.ts';

const SYSTEM_ORDER: readonly SystemName[] = ['imdgo', 'etcd', 'etcd-disk', 'redis'];
const WORKLOAD_ORDER = ['write', 'read', 'mix', 'local-peek', 'local-get'];

export interface Ratio {
  readonly opsRatioVsEtcd: number;
  readonly p99RatioVsEtcd: number | null;
}

/**
 * imdgo against etcd (data on tmpfs) for the same workload, concurrency and target. Local reads have no
 * etcd equivalent; they are set against etcd's serializable reads, its fastest.
 */
export function ratioToEtcd(row: ResultRow, rows: readonly ResultRow[]): Ratio | null {
  if (row.system !== 'imdgo') return null;
  const local = row.workload.startsWith('local-');
  const etcd = rows.find(
    (other) =>
      other.system === 'etcd' &&
      (local
        ? other.workload === 'local-get'
        : other.workload === row.workload && other.concurrency === row.concurrency && other.on === row.on),
  );
  if (!etcd || etcd.opsPerSec === 0) return null;
  return {
    opsRatioVsEtcd: row.opsPerSec / etcd.opsPerSec,
    p99RatioVsEtcd: row.p99Ms !== null && etcd.p99Ms ? row.p99Ms / etcd.p99Ms : null,
  };
}

export function sortRows(rows: readonly ResultRow[]): ResultRow[] {
  return [...rows].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    const i = ra.findIndex((value, k) => value !== rb[k]);
    return i < 0 ? 0 : ra[i]! - rb[i]!;
  });
}

export function formatRow(row: ResultRow, ratio: Ratio | null = null): string {
  const cells = [
    row.workload.padEnd(10),
    String(row.concurrency).padStart(4),
    row.on.padEnd(8),
    row.system.padEnd(9),
    Math.round(row.opsPerSec).toLocaleString('en-US').padStart(11),
    formatMs(row.p50Ms).padStart(8),
    formatMs(row.p99Ms).padStart(8),
    formatMs(row.maxMs).padStart(8),
    String(row.errors).padStart(6),
    (row.cpuUsPerOp === null ? '-' : row.cpuUsPerOp.toFixed(row.cpuUsPerOp < 10 ? 2 : 0)).padStart(9),
  ];
  if (ratio) {
    const p99 = ratio.p99RatioVsEtcd === null ? '' : `, p99 ×${ratio.p99RatioVsEtcd.toFixed(2)}`;
    cells.push(`  ops ×${ratio.opsRatioVsEtcd.toFixed(1)}${p99}`);
  }
  return cells.join(' ');
}

export const TABLE_HEADER = [
  'workload'.padEnd(10),
  'conc'.padStart(4),
  'on'.padEnd(8),
  'system'.padEnd(9),
  'ops/s'.padStart(11),
  'p50 ms'.padStart(8),
  'p99 ms'.padStart(8),
  'max ms'.padStart(8),
  'errors'.padStart(6),
  'cpu µs/op'.padStart(9),
  '  imdgo/etcd',
].join(' ');

export function printSummary(
  rows: readonly ResultRow[],
  failovers: readonly FailoverResult[],
  memory: MemoryResult | null,
): void {
  if (rows.length > 0) {
    console.log(`\n${TABLE_HEADER}`);
    for (const row of sortRows(rows)) console.log(formatRow(row, ratioToEtcd(row, rows)));
    const errors = rows.filter((row) => row.firstError !== null);
    for (const row of errors) {
      console.log(
        `  ${row.system} ${row.workload} c${row.concurrency} ${row.on}: first error: ${row.firstError}`,
      );
    }
  }
  for (const f of failovers) {
    const samples = f.samplesMs.map((s) => (s === null ? 'none' : s.toFixed(0))).join(', ');
    console.log(
      `\nfailover ${f.system} (kill -9 the leader, ${f.concurrency} writers): median ${msOrNone(f.medianMs)}, ` +
        `max ${msOrNone(f.maxMs)}  [${samples} ms]; killed member healthy again after [${f.rejoinMs.join(', ')}] ms`,
    );
  }
  if (memory) {
    console.log(
      `\nmemory imdgo, ${memory.keys.toLocaleString('en-US')} keys of ${memory.rawBytesPerKey} raw bytes (key + value): ` +
        `${memory.totalBytesPerKey.toFixed(0)} B/key (heap ${memory.heapBytesPerKey.toFixed(0)} + buffers), ` +
        `×${memory.ratioToRaw.toFixed(2)} raw; the log alone: ${memory.logBytesPerWrite?.toFixed(0) ?? '-'} B/write`,
    );
  }
}

/** One JSON object per line: every load row (with its ratio to etcd), each failover test, memory. */
export function writeJsonLines(
  file: string,
  rows: readonly ResultRow[],
  failovers: readonly FailoverResult[],
  memory: MemoryResult | null,
): void {
  const lines = [
    ...sortRows(rows).map((row) => ({ ...row, ...ratioToEtcd(row, rows) })),
    ...failovers.map((f) => ({
      ...f,
      workload: 'failover',
      opsPerSec: null,
      p50Ms: f.medianMs,
      p99Ms: null,
    })),
    ...(memory
      ? [{ ...memory, workload: 'memory', concurrency: null, opsPerSec: null, p50Ms: null, p99Ms: null }]
      : []),
  ];
  writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
}

function rank(row: ResultRow): number[] {
  return [
    WORKLOAD_ORDER.indexOf(row.workload),
    row.concurrency,
    SYSTEM_ORDER.indexOf(row.system),
    row.on === 'follower' ? 1 : 0,
  ];
}

function formatMs(value: number | null): string {
  return value === null ? '-' : value < 1 ? value.toPrecision(3) : value.toFixed(2);
}

function msOrNone(ms: number | null): string {
  return ms === null ? 'none' : `${ms.toFixed(0)} ms`;
}
