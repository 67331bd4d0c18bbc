/**
 * `npm run bench`: imdgo's 3-node cluster (three processes on loopback, loaded from inside the nodes: what a
 * Nest app gets) and its demo REST API driven by a load-generator process (the service over the wire), and
 * with --compare etcd (3 members, etcd3 client and JSON gateway) and Redis under the same workloads, in
 * interleaved rounds. See options.ts for the flags.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { openEtcd } from './etcd/etcd-suite.ts';
import { openImdgo } from './imdgo/imdgo-suite.ts';
import { measureStability } from './imdgo/stability.ts';
import { parseOptions, USAGE, type BenchOptions } from './options.ts';
import { interleave, planRuns, SMOKE_RUNS } from './plan.ts';
import { describeMachine, machineBusyShare } from './machine-load.ts';
import { measurePeerMemory } from './memory/peer-memory.ts';
import { installCleanup } from '../scripts/child-processes.ts';
import { openRedis } from './redis/redis-suite.ts';
import { runScale } from './scale/run-scale.ts';
import { writeJsonLines } from './json-rows.ts';
import { formatRound, printSummary, TABLE_HEADER } from './report.ts';
import type { FailoverResult, MemoryResult, ResultRow, SystemName } from './results.ts';
import type { BenchSystem } from './system.ts';
import { GeneratorProcess } from './wire/generator-process.ts';
import { openImdgoWire } from './wire/imdgo-wire.ts';

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
// The data parent is the user's (it stays); each system's data goes into a temporary directory under it.
if (options.dataDir !== null) mkdirSync(options.dataDir, { recursive: true });
setTimeout(
  () => {
    console.error('the benchmark ran out of time');
    process.exit(1);
  },
  options.smoke ? SMOKE_LIMIT_MS : HARD_LIMIT_MS,
).unref();
if (options.scale !== null) {
  process.exitCode = await runScale({
    ...options,
    sizes: options.scale,
    concurrencyPerNode: Math.max(...options.concurrency),
  }).catch((error: unknown) => {
    console.error(`scale benchmark failed: ${(error as Error).stack ?? String(error)}`);
    return 1;
  });
  process.exit();
}

const rows: ResultRow[] = [];
const failovers: FailoverResult[] = [];
let memory: MemoryResult[] = [];
const failoverRounds = options.workloads.includes('failover') ? options.failoverRounds : 0;
const load = {
  warmupMs: options.warmupMs,
  durationMs: options.durationMs,
  keys: options.keys,
  valueBytes: options.valueBytes,
  failoverRounds,
  failoverConcurrency: options.failoverConcurrency,
  failoverFaults: options.failoverFaults,
  verbose: options.verbose,
};
const systems: BenchSystem[] = [];

if (options.stabilitySeconds !== null) {
  const concurrency = Math.max(...options.concurrency);
  try {
    console.log(`machine: ${describeMachine(await machineBusyShare())}`);
    console.log(
      `stability: ${options.stabilitySeconds} s of writes on imdgo's leader at concurrency ${concurrency}, ` +
        `no fault, tickMs ${options.tickMs ?? 'default'}`,
    );
    const result = await measureStability({
      seconds: options.stabilitySeconds,
      concurrency,
      keys: options.keys,
      valueBytes: options.valueBytes,
      execArgv: nodeFlags(options),
      dataDir: options.dataDir,
      tickMs: options.tickMs,
      verbose: options.verbose,
    });
    const loadAverage = result.loadAverage;
    console.log(
      `stability imdgo: leader changes ${result.leaderChanges}, new terms ${result.termsStarted}, ` +
        `${result.entriesPerSec.toFixed(0)} entries/s committed, ${result.failedWrites} failed writes; ` +
        `load average ${loadAverage.min.toFixed(1)}-${loadAverage.max.toFixed(1)} (mean ${loadAverage.mean.toFixed(1)})`,
    );
    if (result.leaderChanges > 0 || result.termsStarted > 0) process.exitCode = 1;
  } catch (error) {
    console.error(`stability run failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  }
  process.exit();
}

try {
  console.log(
    `imdgo benchmark: ${options.keys} keys, ${options.valueBytes}-byte values, ` +
      `${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s per run, ` +
      `${options.rounds} interleaved round(s), ` +
      (options.dataDir === null
        ? 'imdgo in memory, etcd on tmpfs'
        : `imdgo and etcd data under ${options.dataDir}`) +
      (options.modes.includes('wire') ? `, wire client: ${options.wireClient}` : ''),
  );
  console.log(`machine: ${describeMachine(options.smoke ? null : await machineBusyShare())}\n`);
  const app = options.modes.includes('app');
  const plan = (system: SystemName, mode: 'app' | 'wire') =>
    (mode === 'app' && !app) || !options.modes.includes(mode)
      ? []
      : planRuns(system, options.workloads, options.concurrency, options.targets, options.openRate, mode);
  const generator = options.modes.includes('wire')
    ? await GeneratorProcess.start({
        keys: options.keys,
        valueBytes: options.valueBytes,
        client: options.wireClient,
      })
    : null;
  const imdgoRuns = options.smoke ? SMOKE_RUNS : plan('imdgo', 'app');
  if (imdgoRuns.length > 0 || (app && failoverRounds > 0)) {
    systems.push(
      await openImdgo({
        ...load,
        failoverRounds: app ? failoverRounds : 0,
        runs: imdgoRuns,
        execArgv: nodeFlags(options),
        dataDir: options.dataDir,
        tickMs: options.tickMs,
      }),
    );
  }
  if (generator) {
    systems.push(
      await openImdgoWire({
        ...load,
        runs: plan('imdgo', 'wire'),
        dataDir: options.dataDir,
        generator,
        execArgv: nodeFlags(options),
        preloadTimeoutMs: Math.max(300_000, 2 * options.keys),
      }),
    );
  }
  if (options.compare) {
    const etcdSystems = options.etcdDisk ? (['etcd', 'etcd-disk'] as const) : (['etcd'] as const);
    for (const system of etcdSystems) {
      systems.push(
        ...(await openEtcd({
          ...load,
          // Failover is measured in the app table's set-up, imdgo's too: a wire-only run has neither.
          failoverRounds: app ? failoverRounds : 0,
          system,
          dataParent: system === 'etcd-disk' ? '/var/tmp' : (options.dataDir ?? '/dev/shm'),
          runs: plan(system, 'app'),
          wire: generator && { runs: plan(system, 'wire'), generator },
        })),
      );
    }
    if (app) systems.push(await openRedis({ ...load, runs: plan('redis', 'app') }));
  }
  // App rows first, then wire rows, each interleaved across systems and rounds.
  for (const mode of ['app', 'wire'] as const) {
    const ofMode = systems.filter((system) => system.mode === mode);
    const slots = interleave(
      ofMode.map((system) => system.runs),
      options.rounds,
    );
    if (slots.length > 0) console.log(`\n${TABLE_HEADER}`);
    for (const slot of slots) {
      const row = await ofMode[slot.system]!.run(slot.spec, slot.round);
      rows.push(row);
      console.log(formatRound(row));
    }
  }
  for (const system of systems) {
    failovers.push(...(await system.failover()));
  }
  for (const system of systems.splice(0)) await system.close();
  await generator?.stop();
  if (options.workloads.includes('memory') && !options.smoke) {
    memory = await measurePeerMemory({
      keys: options.memoryKeys,
      restSeconds: options.memoryRestSeconds,
      valueBytes: options.valueBytes,
      compare: options.compare,
      verbose: options.verbose,
    });
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
  for (const system of systems) await system.close().catch(() => {});
}
// The 'exit' handler stops anything still running and deletes temporary directories.
process.exit();

/** A larger heap, since imdgo keeps its whole log in memory, and CPU profiles when asked. */
function nodeFlags({ cpuProfDir, nodeFlags: more }: BenchOptions): string[] {
  const flags = ['--max-old-space-size=8192', ...more];
  if (cpuProfDir !== null) {
    mkdirSync(cpuProfDir, { recursive: true });
    flags.push('--cpu-prof', `--cpu-prof-dir=${resolve(cpuProfDir)}`);
  }
  return flags;
}
