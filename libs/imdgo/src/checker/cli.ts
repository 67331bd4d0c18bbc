/**
 * Checks a recorded history file for linearizability:
 *   node libs/imdgo/src/checker/cli.ts --format jepsen-etcd|porcupine-kv|imdgo [--timeout-ms N] FILE
 * Prints `linearizable` (exit 0) or `not linearizable` (exit 1); bad arguments or input exit 2, and a
 * search cut short by --timeout-ms exits 3.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkOperations } from './linearizability.ts';
import type { CheckOptions, CheckResult } from './linearizability.ts';
import { appendKvModel } from './models/append-kv.ts';
import { registerModel } from './models/etcd-register.ts';
import { imdgoKvModel } from './models/imdgo-kv.ts';
import { parseImdgoHistory } from './parsers/imdgo-jsonl.ts';
import { parseJepsenEtcd } from './parsers/jepsen-etcd.ts';
import { parsePorcupineKv } from './parsers/porcupine-kv.ts';

const USAGE = 'usage: check-history --format jepsen-etcd|porcupine-kv|imdgo [--timeout-ms N] FILE';

const CHECKERS: Record<string, (text: string, options: CheckOptions) => CheckResult<unknown, unknown>> = {
  'jepsen-etcd': (text, options) => checkOperations(registerModel, parseJepsenEtcd(text), options),
  'porcupine-kv': (text, options) => checkOperations(appendKvModel, parsePorcupineKv(text), options),
  imdgo: (text, options) => checkOperations(imdgoKvModel, parseImdgoHistory(text), options),
};

function fail(message: string): never {
  process.stderr.write(`check-history: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArguments(): { check: (typeof CHECKERS)[string]; file: string; options: CheckOptions } {
  let parsed;
  try {
    parsed = parseArgs({
      options: { format: { type: 'string' }, 'timeout-ms': { type: 'string' } },
      allowPositionals: true,
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.format === undefined || !Object.hasOwn(CHECKERS, values.format))
    fail('--format is missing or unknown');
  if (positionals.length !== 1) fail('expected exactly one FILE');
  const timeout = values['timeout-ms'];
  if (timeout !== undefined && !/^\d+$/.test(timeout))
    fail('--timeout-ms must be a whole number of milliseconds');
  return {
    check: CHECKERS[values.format],
    file: positionals[0],
    options: timeout === undefined ? {} : { timeoutMs: Number(timeout) },
  };
}

const { check, file, options } = parseArguments();
let text: string;
try {
  text = readFileSync(file, 'utf8');
} catch (error) {
  fail(`cannot read ${file}: ${(error as Error).message}`);
}
let verdict: CheckResult<unknown, unknown>;
try {
  verdict = check(text, options);
} catch (error) {
  fail(`${file}: ${(error as Error).message}`);
}
if (verdict.result === 'linearizable') {
  process.stdout.write('linearizable\n');
} else if (verdict.result === 'not-linearizable') {
  process.stdout.write('not linearizable\n');
  process.exitCode = 1;
} else {
  process.stdout.write('unknown\n');
  process.stderr.write(`check-history: gave up after ${options.timeoutMs} ms\n`);
  process.exitCode = 3;
}
