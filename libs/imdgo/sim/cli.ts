import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatImdgoHistory } from '../src/checker/index.ts';
import type { RaftTestOnlyBugs } from '../src/raft/index.ts';
import { checkSeed, type CheckedRun } from './check-run.ts';
import type { SimProfile } from './simulation.ts';
import type { CheckedDriverRun } from './driver/driver-check-run.ts';

const CORE_BUGS = [
  'commitPreviousTermEntries',
  'skipLogUpToDateCheck',
  'forgetVoteOnRestart',
  'configChangeBeforeTermCommit',
  'commitOnStaleMatch',
  'singleVoterReadWithoutMembership',
];
/** Broken behaviours of the node driver itself: for the driver mode only. */
const DRIVER_ONLY_BUGS = ['persistReadyBeforeSnapshot', 'sendAheadOfDisk', 'dropExpiredWaiters'];

const USAGE = `usage: npm run sim -- [--seeds N] [--start S] [--mode driver|core] [--profile P] [--duration MS] [--bug NAME] [--shared-wal] [--failures-dir DIR] [--verbose]
  runs seeds S..S+N-1 (default 100 from 1); each failure prints its seed and trace, writes its history to
  DIR (default .sim-failures), and replays with --start SEED --seeds 1 (or --seed SEED)
  --mode driver (default): the production RaftNode, state machine and storage on virtual time
  --mode core: the pure Raft core under a minimal driver (fast)
  --profile swarm|membership-race (core mode): every fault mixed (default), or configuration changes
      racing leader changes (simulation.ts)
  --bug ${[...CORE_BUGS, ...DRIVER_ONLY_BUGS].join('|')}
      runs a deliberately broken core or driver (the last one in driver mode only)
  --shared-wal: driver mode's data-directory seeds store on the node's shared write-ahead log (partitioned
      mode's storage) instead of FileStorage`;

/** Loaded only when used, so that the core mode does not pay for the driver's modules. */
const driverMode = () => import('./driver/driver-check-run.ts');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '100' },
      start: { type: 'string', default: '1' },
      seed: { type: 'string' },
      mode: { type: 'string', default: 'driver' },
      profile: { type: 'string' },
      duration: { type: 'string' },
      bug: { type: 'string' },
      'failures-dir': { type: 'string', default: '.sim-failures' },
      verbose: { type: 'boolean', default: false },
      'shared-wal': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seeds = values.seed === undefined ? Number(values.seeds) : 1;
  const start = Number(values.seed ?? values.start);
  const mode = values.mode;
  if (mode !== 'driver' && mode !== 'core') {
    console.error(`--mode must be driver or core\n${USAGE}`);
    return 2;
  }
  const profile = values.profile as SimProfile | undefined;
  if (profile !== undefined && (mode !== 'core' || (profile !== 'swarm' && profile !== 'membership-race'))) {
    console.error(`--profile is swarm or membership-race, in core mode only\n${USAGE}`);
    return 2;
  }
  const durationMs = values.duration === undefined ? undefined : Number(values.duration);
  if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(start) || start < 0) {
    console.error(`--seeds must be a positive integer and --start a non-negative one\n${USAGE}`);
    return 2;
  }
  if (durationMs !== undefined && !(Number.isInteger(durationMs) && durationMs > 0)) {
    console.error(`--duration must be a positive integer (virtual ms)\n${USAGE}`);
    return 2;
  }
  const bugs = mode === 'driver' ? [...CORE_BUGS, ...DRIVER_ONLY_BUGS] : CORE_BUGS;
  if (values.bug !== undefined && !bugs.includes(values.bug)) {
    console.error(`--bug must be one of ${bugs.join(', ')}`);
    return 2;
  }
  const broken = values.bug ? { [values.bug]: true } : undefined;
  const driverBugs = values.bug && DRIVER_ONLY_BUGS.includes(values.bug) ? broken : undefined;
  const testOnlyBugs: RaftTestOnlyBugs | undefined = driverBugs ? undefined : broken;

  const began = performance.now();
  let passed = 0;
  let failed = 0;
  let operations = 0;
  let largest = { seed: 0, operations: 0 };
  for (let seed = start; seed < start + seeds; seed++) {
    const run: CheckedRun | CheckedDriverRun =
      mode === 'driver'
        ? await (
            await driverMode()
          ).checkDriverSeed({
            seed,
            durationMs,
            testOnlyBugs,
            driverBugs,
            ...(values['shared-wal'] ? { sharedWal: true } : {}),
          })
        : checkSeed({ seed, durationMs, testOnlyBugs, profile });
    operations += run.operations;
    if (run.operations > largest.operations) largest = { seed, operations: run.operations };
    if (run.failure === null) {
      passed++;
      if (values.verbose)
        console.log(`seed ${seed} ok trace=${run.traceDigest} ${JSON.stringify(run.stats)}`);
      continue;
    }
    failed++;
    const dir = values['failures-dir'];
    mkdirSync(dir, { recursive: true });
    const historyFile = `${dir}/seed-${seed}.jsonl`;
    writeFileSync(historyFile, formatImdgoHistory(run.history));
    console.log(`FAIL seed ${seed}: ${run.failure}`);
    console.log(`  stats ${JSON.stringify(run.stats)} trace=${run.traceDigest}`);
    for (const line of run.traceTail) console.log(`  | ${line}`);
    console.log(`  history: ${historyFile}`);
    const flags = `${mode === 'core' ? ' --mode core' : ''}${profile === undefined ? '' : ` --profile ${profile}`}${durationMs === undefined ? '' : ` --duration ${durationMs}`}${values.bug ? ` --bug ${values.bug}` : ''}`;
    console.log(`  replay:  npm run sim -- --start ${seed} --seeds 1${flags}`);
  }
  const seconds = (performance.now() - began) / 1000;
  console.log(
    `${mode} mode: ${seeds} seeds in ${seconds.toFixed(1)} s (${(seeds / seconds).toFixed(1)} seeds/s), ${operations} operations checked, largest history ${largest.operations} operations (seed ${largest.seed})`,
  );
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
