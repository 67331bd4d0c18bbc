/**
 * `npm run bench`: imdgo's 3-node cluster (three processes on loopback, loaded from inside the nodes),
 * and with --compare etcd (3 members) and Redis under the same workloads. See options.ts for the flags.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { runEtcdSuite } from './etcd/etcd-suite.ts';
import { runImdgoSuite } from './imdgo/imdgo-suite.ts';
import { measureMemory } from './imdgo/memory.ts';
import { parseOptions, USAGE, type BenchOptions } from './options.ts';
import { planRuns, SMOKE_RUNS } from './plan.ts';
import { describeMachine, machineBusyShare } from './machine-load.ts';
import { installCleanup } from '../scripts/child-processes.ts';
import { runRedisSuite } from './redis/redis-suite.ts';
import { formatRow, printSummary, TABLE_HEADER, writeJsonLines } from './report.ts';
import type { FailoverResult, MemoryResult, ResultRow } from './results.ts';

/** Nothing the benchmark does may take longer than this, whatever hangs. */
const HARD_LIMIT_MS = 60 * 60_000;
const SMOKE_LIMIT_MS = 60_000;

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
installCleanup('benchmark');
setTimeout(
  () => {
    console.error('the benchmark ran out of time');
    process.exit(1);
  },
  options.smoke ? SMOKE_LIMIT_MS : HARD_LIMIT_MS,
).unref();

const rows: ResultRow[] = [];
const failovers: FailoverResult[] = [];
let memory: MemoryResult | null = null;
const onRow = (row: ResultRow) => console.log(formatRow(row));
const failoverRounds = options.workloads.includes('failover') ? options.failoverRounds : 0;
const load = {
  warmupMs: options.warmupMs,
  durationMs: options.durationMs,
  keys: options.keys,
  valueBytes: options.valueBytes,
  failoverRounds,
  failoverConcurrency: options.failoverConcurrency,
  verbose: options.verbose,
};

try {
  console.log(
    `imdgo benchmark: ${options.keys} keys, ${options.valueBytes}-byte values, ` +
      `${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s per run, closed loop`,
  );
  console.log(`machine: ${describeMachine(options.smoke ? null : await machineBusyShare())}\n`);
  const imdgoRuns = options.smoke
    ? SMOKE_RUNS
    : planRuns('imdgo', options.workloads, options.concurrency, options.targets);
  if (imdgoRuns.length > 0 || failoverRounds > 0) {
    console.log(TABLE_HEADER);
    const imdgo = await runImdgoSuite(
      { ...load, runs: imdgoRuns, execArgv: nodeFlags(options.cpuProfDir) },
      onRow,
    );
    rows.push(...imdgo.rows);
    if (imdgo.failover) failovers.push(imdgo.failover);
  }
  if (options.compare) {
    const etcdSystems = options.etcdDisk ? (['etcd', 'etcd-disk'] as const) : (['etcd'] as const);
    for (const system of etcdSystems) {
      const runs = planRuns(system, options.workloads, options.concurrency, options.targets);
      if (runs.length === 0 && failoverRounds === 0) continue;
      const etcd = await runEtcdSuite({ ...load, system, runs }, onRow);
      rows.push(...etcd.rows);
      if (etcd.failover) failovers.push(etcd.failover);
    }
    const redisRuns = planRuns('redis', options.workloads, options.concurrency);
    if (redisRuns.length > 0) rows.push(...(await runRedisSuite({ ...load, runs: redisRuns }, onRow)));
  }
  if (options.workloads.includes('memory') && !options.smoke) {
    memory = await measureMemory(options.memoryKeys, options.valueBytes);
  }
  printSummary(rows, failovers, memory);
  if (options.json) {
    writeJsonLines(options.json, rows, failovers, memory);
    console.log(`\nresults written to ${options.json}`);
  }
  if (options.smoke && rows.some((row) => row.ops === 0 || row.errors > 0)) {
    console.error('smoke run failed: a run had errors or completed nothing');
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
}
// The 'exit' handler stops anything still running and deletes temporary directories.
process.exit();

/** A larger heap, since imdgo keeps its whole log in memory, and CPU profiles when asked. */
function nodeFlags(cpuProfDir: string | null): string[] {
  const flags = ['--max-old-space-size=8192'];
  if (cpuProfDir !== null) {
    mkdirSync(cpuProfDir, { recursive: true });
    flags.push('--cpu-prof', `--cpu-prof-dir=${resolve(cpuProfDir)}`);
  }
  return flags;
}
