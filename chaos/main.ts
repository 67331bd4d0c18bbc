/**
 * `npm run chaos -- [--duration S] [--seed N] [--nodes 3|5] [--mode memory|data] [--faults LIST] ...`:
 * real node processes on loopback under seeded faults and a client load, then a linearizability check of
 * the history, a check that no acknowledged write was lost, and a comparison of the replicas. Exit 0 when
 * all hold, 1 on a violation (the run directory with the history and node logs is then kept), 2 on bad
 * usage or a harness error. `--self-test` runs it against deliberately broken nodes instead: exit 0 when
 * every one is caught.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_ENTRY } from './node-process.ts';
import { parseChaosOptions, USAGE, UsageError, type ChaosOptions } from './options.ts';
import { installCleanup, keepDir, trackDir } from '../scripts/child-processes.ts';
import { formatReport } from './report.ts';
import { runChaos } from './run.ts';
import { selfTest } from './self-test.ts';

/** Beyond the faults and the check: start-up, convergence, final reads, stopping. */
const OVERHEAD_MS = 180_000;

async function parse(): Promise<ChaosOptions> {
  try {
    const options = parseChaosOptions(process.argv.slice(2));
    if (options === 'self-test') {
      const missed = await selfTest((line) => console.log(line));
      console.log(
        missed.length === 0
          ? 'self-test: every broken build was caught'
          : `self-test: MISSED ${missed.join(', ')}`,
      );
      process.exit(missed.length === 0 ? 0 : 1);
    }
    if (options !== 'help') return options;
    console.log(USAGE);
    process.exit(0);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
}

const options = await parse();
if (!existsSync(NODE_ENTRY)) {
  console.error(`${NODE_ENTRY} is missing: run "npm run build" first (npm run chaos does)`);
  process.exit(2);
}
installCleanup('chaos run');
const runDir = trackDir(mkdtempSync(join(tmpdir(), 'imdgo-chaos-')));
const began = Date.now();
const log = (line: string) =>
  console.log(`[${((Date.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}`);
// A run must end: if anything hangs, the cleanup still kills every node.
setTimeout(
  () => {
    console.error(`chaos run exceeded its time bound; the run directory is ${runDir}`);
    keepDir(runDir);
    process.exit(2);
  },
  options.durationMs + options.checkTimeoutMs + OVERHEAD_MS,
).unref();

log(
  `chaos: seed ${options.seed}, ${options.nodes} nodes, ${options.partitions} partition(s), ${options.mode} mode, ${options.durationMs / 1000} s, faults ${options.faults.join(',')}; run directory ${runDir}`,
);
let exitCode: number;
try {
  const report = await runChaos(options, runDir, log);
  console.log(formatReport(options, report));
  exitCode = report.violations.length > 0 ? 1 : 0;
} catch (error) {
  console.error(`chaos run failed: ${(error as Error).stack ?? String(error)}`);
  exitCode = 2;
}
if (exitCode !== 0 || options.keep) {
  keepDir(runDir);
  console.log(`history: ${join(runDir, 'history.jsonl')} (node logs in ${join(runDir, 'logs')})`);
  console.log(
    `replay the fault schedule: npm run chaos -- --seed ${options.seed} --nodes ${options.nodes} --mode ${options.mode} --duration ${options.durationMs / 1000} --faults ${options.faults.join(',')} --workload ${options.workload}${options.partitions > 1 ? ` --partitions ${options.partitions}` : ''}${options.breakage ? ` --break ${options.breakage}` : ''}`,
  );
}
process.exit(exitCode);
