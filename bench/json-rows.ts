import { writeFileSync } from 'node:fs';
import type { FailoverResult, MemoryResult, Mode, ResultRow, SystemName, Target } from './results.ts';

/** The workload families of the JSON rows; `operation` says which call within the family. */
export type JsonWorkload = 'write' | 'read' | 'mix' | 'local';

/** One load row of `--json FILE`: one system, one workload, one round. */
export interface JsonRow {
  readonly kind: 'load';
  readonly system: SystemName;
  readonly workload: JsonWorkload;
  /** write, read (linearizable), mix, local-peek / local-get (imdgo), serializable-get (etcd). */
  readonly operation: string;
  readonly concurrency: number;
  readonly on: Target;
  readonly mode: Mode;
  readonly durable: boolean;
  readonly loop: 'closed' | 'open';
  /** The open loop's fixed arrival rate, ops/s; null for the closed loop. */
  readonly arrivalPerSec: number | null;
  readonly round: number;
  readonly ops: number;
  readonly errors: number;
  readonly opsPerSec: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly clientCpuUsPerOp: number | null;
  readonly serverCpuUsPerOp: number | null;
  readonly firstError: string | null;
}

export function toJsonRow(row: ResultRow): JsonRow {
  const local = row.workload === 'local-peek' || row.workload === 'local-get';
  return {
    kind: 'load',
    system: row.system,
    workload: local ? 'local' : (row.workload as JsonWorkload),
    // Outside imdgo, the local read is a read one member answers alone: etcd's serializable read.
    operation: row.workload === 'local-get' && row.system !== 'imdgo' ? 'serializable-get' : row.workload,
    concurrency: row.concurrency,
    on: row.on,
    mode: row.mode,
    durable: row.durable,
    loop: row.arrivalPerSec === undefined ? 'closed' : 'open',
    arrivalPerSec: row.arrivalPerSec ?? null,
    round: row.round,
    ops: row.ops,
    errors: row.errors,
    opsPerSec: row.opsPerSec,
    p50Ms: row.p50Ms,
    p99Ms: row.p99Ms,
    maxMs: row.maxMs,
    clientCpuUsPerOp: row.clientCpuUsPerOp,
    serverCpuUsPerOp: row.serverCpuUsPerOp,
    firstError: row.firstError,
  };
}

/** The lines of `--json FILE`: every load row of every round, then each failover test and the memory one. */
export function jsonLines(
  rows: readonly ResultRow[],
  failovers: readonly FailoverResult[],
  memory: readonly MemoryResult[],
): string[] {
  return [
    ...rows.map(toJsonRow),
    ...failovers.map((f) => ({ kind: 'failover', ...f })),
    ...memory.map((result) => ({ kind: 'memory', ...result })),
  ].map((line) => JSON.stringify(line));
}

export function writeJsonLines(
  file: string,
  rows: readonly ResultRow[],
  failovers: readonly FailoverResult[],
  memory: readonly MemoryResult[],
): void {
  writeFileSync(file, jsonLines(rows, failovers, memory).join('\n') + '\n');
}
