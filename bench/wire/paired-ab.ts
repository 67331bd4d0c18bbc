/**
 * Two builds of the demo's REST API against each other on a shared machine, for changes worth a few
 * percent of a request's CPU:
 *
 *   node bench/wire/paired-ab.ts --a /work/main --b . [--seconds 20] [--workloads write,read]
 *
 * `--a` and `--b` are trees holding a built `dist/`, or a server script taking the demo's arguments:
 * `bench/wire/baseline-fastify.ts` (bare Fastify and a Map) or `bench/wire/baseline-nest.ts` (Nest on it).
 * One single-node server of each side runs at once; the load goes to one, then the other, in bursts of a
 * quarter second over the same minutes, so that other processes on the machine slow both alike. Prints
 * each side's server CPU µs per request over its bursts, and B/A. Sequential runs of the same build here
 * differ by up to 30%; paired, a build against itself gave B/A 0.90-1.02 in six runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { terminate, track } from '../../scripts/child-processes.ts';
import { runClosedLoop } from '../load/closed-loop.ts';
import { processCpuUs } from '../load/cpu.ts';
import { makeDataset } from '../load/dataset.ts';
import { operation, preload, type KvClient } from '../load/kv-client.ts';
import { imdgoHttpKv } from './http-kv.ts';
import { undiciCall } from './undici-call.ts';

const BURST_MS = 250;
const START_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    seconds: { type: 'string', default: '20' },
    workloads: { type: 'string', default: 'write,read' },
    concurrency: { type: 'string', default: '64' },
    keys: { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '100' },
  },
});
if (values.a === undefined || values.b === undefined) {
  console.error(
    'usage: node bench/wire/paired-ab.ts --a DIR|SCRIPT --b DIR|SCRIPT [--seconds S] [--workloads write,read]',
  );
  process.exit(2);
}

interface Side {
  readonly name: string;
  readonly child: ChildProcess;
  readonly kv: KvClient;
  cpuUs: number;
  ops: number;
}

const data = makeDataset(Number(values.keys), Number(values['value-bytes']));
const concurrency = Number(values.concurrency);
const call = undiciCall();

async function startSide(name: string, target: string): Promise<Side> {
  const path = resolve(target);
  const main = statSync(path).isFile() ? path : resolve(path, 'dist/apps/demo/src/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build that tree first`);
  const peer = `127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  const args = [main, '--id', peer, '--members', peer, '--http-port', String(httpPort), '--partitions', '1'];
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  const url = `http://127.0.0.1:${httpPort}`;
  const kv = imdgoHttpKv(call, url, false);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    // A write succeeds once the node listens and leads its one-member group.
    const written = await kv.put(data.keys[0]!, data.value).then(
      () => true,
      () => false,
    );
    if (written) break;
    if (Date.now() > deadline) throw new Error(`${name} (${main}) did not serve writes`);
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
  await preload(kv, data);
  return { name, child, kv, cpuUs: 0, ops: 0 };
}

async function burst(side: Side, workload: 'write' | 'read', ms: number): Promise<void> {
  const from = processCpuUs(side.child.pid!);
  const summary = await runClosedLoop(operation(workload, side.kv, data), concurrency, {
    warmupMs: 0,
    durationMs: ms,
  });
  if (summary.errors > 0) throw new Error(`${side.name}: ${summary.errors} errors, ${summary.firstError}`);
  side.cpuUs += processCpuUs(side.child.pid!) - from;
  side.ops += summary.ops;
}

const sides = [await startSide('A', values.a), await startSide('B', values.b)];
try {
  for (const workload of values.workloads.split(',') as ('write' | 'read')[]) {
    for (const side of sides) {
      await burst(side, workload, 1_000); // warm-up
      side.cpuUs = side.ops = 0;
    }
    const end = Date.now() + Number(values.seconds) * 1_000;
    let turn = 0;
    for (; Date.now() < end; turn++) await burst(sides[turn % 2]!, workload, BURST_MS);
    const [a, b] = sides.map((side) => side.cpuUs / side.ops) as [number, number];
    console.log(
      `${workload.padEnd(5)} server CPU µs/request: A ${a.toFixed(1)}  B ${b.toFixed(1)}  B/A ${(b / a).toFixed(3)}` +
        `  (${sides[0]!.ops} and ${sides[1]!.ops} requests in ${turn} bursts)`,
    );
  }
} finally {
  await Promise.all(sides.map((side) => terminate(side.child)));
}
