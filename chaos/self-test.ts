import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Breakage } from './protocol.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
/** Far beyond what a short run takes; a run that hangs is a failure of the self-test, not a catch. */
const RUN_BOUND_MS = 240_000;

interface Case {
  readonly breakage: Breakage;
  /** Faults that expose it within a short run. */
  readonly args: readonly string[];
}

const CASES: readonly Case[] = [
  // A node cut off from the majority (or the old leader) keeps answering reads from what it has.
  {
    breakage: 'stale-reads',
    args: ['--faults', 'partition-leader,partition-halves', '--duration', '8'],
  },
  { breakage: 'double-increment', args: ['--faults', 'pause-follower', '--duration', '3'] },
  // Every node loses the same recent writes only when they all crash together.
  { breakage: 'lose-tail', args: ['--mode', 'data', '--faults', 'kill-all', '--duration', '12'] },
  // A node that held a lock once hands out its last token again without taking the lock.
  {
    breakage: 'stale-lock',
    args: ['--workload', 'locks', '--faults', 'pause-follower', '--duration', '5'],
  },
];

/** A catch is a run that ends with exit status 1 after its checks found the history impossible. */
const CAUGHT =
  /^(linearizability: not linearizable|VIOLATION: (not linearizable|\S+ (is absent|holds)|lock-[a-z]+: ))/m;

/**
 * Runs the harness once against each deliberately broken build (short runs, one after the other: the
 * machine may be busy) and returns the names of the breakages it did not catch.
 */
export async function selfTest(log: (line: string) => void): Promise<Breakage[]> {
  const missed: Breakage[] = [];
  for (const { breakage, args } of CASES) {
    const argv = [MAIN, '--break', breakage, '--seed', '1', ...args];
    log(`self-test: ${breakage}: node ${argv.slice(1).join(' ')}`);
    const { code, output } = await run(argv);
    const caught = code === 1 && CAUGHT.test(output);
    const verdict = output.split('\n').filter((l) => /^(linearizability|VIOLATION|violations)/.test(l));
    log(`self-test: ${breakage} ${caught ? 'caught' : `NOT caught (exit ${code})`}: ${verdict.join(' | ')}`);
    if (!caught) {
      log(output);
      missed.push(breakage);
    }
  }
  return missed;
}

function run(argv: readonly string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGTERM'), RUN_BOUND_MS);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}
