/**
 * `node bench/transport/peer-requests.ts [--requests N] [--rounds R] [--bytes B] [--against DIR]`: CPU per
 * peer request round trip (`NestTcpTransport.request`, what a follower's batch of forwarded writes travels
 * by) between two transports on loopback in this process, one request in flight, an echo of B bytes.
 * Client and server side both count. `--against DIR` also runs another checkout's transport, in alternating
 * rounds of one process: on a busy machine, two separate runs differ by more than what is compared.
 * Runs the builds (`npm run build` in each tree first).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import type { NestTcpTransport } from '../../libs/imdgo/src/transport/nest-tcp-transport.ts';
import { ownCpuUs } from '../load/cpu.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '10' },
    bytes: { type: 'string', default: '2000' },
    against: { type: 'string' },
  },
});
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const WARMUP_REQUESTS = 3_000;

type TransportClass = typeof NestTcpTransport;
const here = fileURLToPath(new URL('../..', import.meta.url));
const trees: { name: string; Transport: TransportClass }[] = [];
for (const [name, root] of [
  ['this tree', here],
  ...(values.against ? [[values.against, values.against]] : []),
]) {
  const file = join(resolve(root!), 'dist/libs/imdgo/src/transport/nest-tcp-transport.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: npm run build in that tree first`);
  const built = (await import(pathToFileURL(file).href)) as { NestTcpTransport: TransportClass };
  trees.push({ name: name!, Transport: built.NestTcpTransport });
}

const payload = new Uint8Array(Number(values.bytes));
const runs = [];
for (const { name, Transport } of trees) {
  const client = new Transport({ id: `127.0.0.1:${await freePort()}` });
  const serverId = `127.0.0.1:${await freePort()}`;
  const server = new Transport({ id: serverId });
  await client.start();
  await server.start();
  server.onRequest(async (_from, body) => body);
  const call = () => client.request(serverId, payload, 5_000);
  for (let i = 0; i < WARMUP_REQUESTS; i++) await call();
  runs.push({ name, client, server, call, cpuPerRequest: [] as number[] });
}
for (let round = 1; round <= rounds; round++) {
  for (const run of runs) {
    const from = ownCpuUs();
    for (let i = 0; i < requests; i++) await run.call();
    run.cpuPerRequest.push((ownCpuUs() - from) / requests);
  }
}
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(runs[0]!.cpuPerRequest);
for (const run of runs) {
  const us = median(run.cpuPerRequest);
  const ratio = run === runs[0] ? '' : `  ${(us / base).toFixed(3)}x this tree's`;
  const spread = `${Math.min(...run.cpuPerRequest).toFixed(0)}-${Math.max(...run.cpuPerRequest).toFixed(0)}`;
  console.log(`${run.name}: ${us.toFixed(1)} µs CPU per round trip (rounds ${spread})${ratio}`);
}
for (const run of runs) {
  await run.client.stop();
  await run.server.stop();
}
