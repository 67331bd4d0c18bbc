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
 *
 * `--cluster leader|follower` runs each tree as three demo nodes (as the wire table does) and loads its
 * leader or a follower: server CPU is then all three nodes', and each line adds the target's share, so
 * that replication and the follower's forwarding are measured too.
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
import { DemoCluster } from './demo-cluster.ts';
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
    cluster: { type: 'string' },
  },
});
if (values.a === undefined || values.b === undefined) {
  console.error(
    'usage: node bench/wire/paired-ab.ts --a DIR|SCRIPT --b DIR|SCRIPT [--seconds S] [--workloads write,read]' +
      ' [--cluster leader|follower]',
  );
  process.exit(2);
}
if (values.cluster !== undefined && values.cluster !== 'leader' && values.cluster !== 'follower') {
  console.error(`--cluster takes leader or follower, got "${values.cluster}"`);
  process.exit(2);
}
const target: 'leader' | 'follower' | undefined = values.cluster;

interface Side {
  readonly name: string;
  /** The processes that serve it, the loaded one first. */
  readonly servers: readonly ChildProcess[];
  readonly kv: KvClient;
  readonly stop: () => Promise<void>;
  /** Of all its servers, and of the loaded one. */
  cpuUs: number;
  targetCpuUs: number;
  ops: number;
}

const data = makeDataset(Number(values.keys), Number(values['value-bytes']));
const concurrency = Number(values.concurrency);
const call = undiciCall();

async function startSide(name: string, tree: string): Promise<Side> {
  const path = resolve(tree);
  const main = statSync(path).isFile() ? path : resolve(path, 'dist/apps/demo/src/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build that tree first`);
  return target === undefined ? startNode(name, main) : startCluster(name, main, target);
}

async function startCluster(name: string, main: string, role: 'leader' | 'follower'): Promise<Side> {
  if (!main.endsWith('dist/apps/demo/src/main.js'))
    throw new Error(`--cluster runs built trees, not ${main}`);
  const cluster = await DemoCluster.start(null, false, [], main);
  const loaded = role === 'leader' ? await cluster.leader() : await cluster.follower();
  // Loaded through the leader, as the wire table does, whichever node the bursts go to.
  await preload(imdgoHttpKv(call, (await cluster.leader()).url, false), data);
  const servers = [loaded, ...cluster.nodes.filter((node) => node !== loaded)].map((node) => node.process);
  const kv = imdgoHttpKv(call, loaded.url, false);
  return { name, servers, kv, stop: () => cluster.stop(), cpuUs: 0, targetCpuUs: 0, ops: 0 };
}

async function startNode(name: string, main: string): Promise<Side> {
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
  return { name, servers: [child], kv, stop: () => terminate(child), cpuUs: 0, targetCpuUs: 0, ops: 0 };
}

/** CPU µs of each server, the loaded one first. */
function serverCpuUs(side: Side): number[] {
  return side.servers.map((server) => processCpuUs(server.pid!));
}

async function burst(side: Side, workload: 'write' | 'read', ms: number): Promise<void> {
  const from = serverCpuUs(side);
  const summary = await runClosedLoop(operation(workload, side.kv, data), concurrency, {
    warmupMs: 0,
    durationMs: ms,
  });
  if (summary.errors > 0) throw new Error(`${side.name}: ${summary.errors} errors, ${summary.firstError}`);
  const to = serverCpuUs(side);
  side.cpuUs += to.reduce((sum, us, i) => sum + us - from[i]!, 0);
  side.targetCpuUs += to[0]! - from[0]!;
  side.ops += summary.ops;
}

const sides = [await startSide('A', values.a), await startSide('B', values.b)];
try {
  for (const workload of values.workloads.split(',') as ('write' | 'read')[]) {
    for (const side of sides) {
      await burst(side, workload, 1_000); // warm-up
      side.cpuUs = side.targetCpuUs = side.ops = 0;
    }
    const end = Date.now() + Number(values.seconds) * 1_000;
    let turn = 0;
    for (; Date.now() < end; turn++) await burst(sides[turn % 2]!, workload, BURST_MS);
    const [a, b] = sides.map((side) => side.cpuUs / side.ops) as [number, number];
    const [ta, tb] = sides.map((side) => side.targetCpuUs / side.ops) as [number, number];
    const targets =
      target === undefined
        ? ''
        : `  ${target} alone: A ${ta.toFixed(1)}  B ${tb.toFixed(1)}  B/A ${(tb / ta).toFixed(3)}`;
    console.log(
      `${workload.padEnd(5)} server CPU µs/request: A ${a.toFixed(1)}  B ${b.toFixed(1)}  B/A ${(b / a).toFixed(3)}` +
        `${targets}  (${sides[0]!.ops} and ${sides[1]!.ops} requests in ${turn} bursts)`,
    );
  }
} finally {
  await Promise.all(sides.map((side) => side.stop()));
}
