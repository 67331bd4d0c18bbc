/**
 * Boots a local cluster of demo nodes on loopback, one process each, from the build in dist/:
 * `node scripts/local-cluster.ts [--nodes 3] [--peer-ports 6701,...] [--http-ports 3001,...]
 * [--partitions N] [--replicas N]`. `--nodes N` numbers the ports from 6701 and 3001; `--partitions` and
 * `--replicas` go to every node (partitioned mode). Prints each node's URL once a leader is elected;
 * Ctrl-C or SIGTERM stops every node and waits for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HOST = '127.0.0.1';
const MAIN = fileURLToPath(new URL('../dist/apps/demo/src/main.js', import.meta.url));
const ELECTION_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 10_000;
/** Nest's start-up chatter (modules and routes), three times over, would bury the cluster's own logs. */
const BOOT_NOISE = /\[(InstanceLoader|RoutesResolver|RouterExplorer|NestFactory)\]/;

interface Node {
  readonly name: string;
  readonly peer: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  alive: boolean;
}

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    'peer-ports': { type: 'string' },
    'http-ports': { type: 'string' },
    partitions: { type: 'string' },
    replicas: { type: 'string' },
  },
});
const nodeCount = Number(values.nodes);
if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 99) fail('--nodes must be from 1 to 99');
const numbered = (first: number) => Array.from({ length: nodeCount }, (_, i) => first + i);
const peerPorts = values['peer-ports']?.split(',').map(Number) ?? numbered(6701);
const httpPorts = values['http-ports']?.split(',').map(Number) ?? numbered(3001);
/** Passed to every node as demo flags; the demo checks the numbers. */
const gridFlags = [
  ...(values.partitions === undefined ? [] : ['--partitions', values.partitions]),
  ...(values.replicas === undefined ? [] : ['--replicas', values.replicas]),
];
if (
  peerPorts.length !== httpPorts.length ||
  [...peerPorts, ...httpPorts].some((p) => !(p > 0 && p < 65_536))
) {
  fail('--peer-ports and --http-ports must be lists of as many ports');
}
if (!existsSync(MAIN)) fail(`${MAIN} is missing: run "npm run build" first (npm start does)`);

const members = peerPorts.map((port) => `${HOST}:${port}`);
const nodes = members.map((peer, i) => startNode(`node${i + 1}`, peer, httpPorts[i]!));
let stopping = false;

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  const leader = await electedLeader();
  const grid = gridFlags.length === 0 ? '' : ` (${gridFlags.join(' ').replaceAll('--', '')})`;
  console.log(`\nimdgo local cluster is up: ${nodes.length} nodes${grid}, leader ${leader}\n`);
  for (const node of nodes) {
    console.log(`  ${node.name}  ${node.url}  (peer ${node.peer}, pid ${node.child.pid})`);
  }
  console.log(`\n  dashboard  ${nodes[0]!.url}/   (any node serves it)`);
  console.log(`  API docs   ${nodes[0]!.url}/docs`);
  console.log('\nCtrl-C stops the cluster.\n');
} catch (error) {
  console.error(`local cluster failed to start: ${(error as Error).message}`);
  await stopAll(1);
}

function startNode(name: string, peer: string, httpPort: number): Node {
  const args = [MAIN, '--id', peer, '--members', members.join(','), '--http-port', String(httpPort)];
  args.push(...gridFlags);
  // Its own process group: Ctrl-C reaches only this script, which then stops the nodes one by one.
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(!process.stdout.isTTY && { NO_COLOR: '1' }) },
  });
  const node: Node = {
    name,
    peer,
    url: `http://${HOST}:${httpPort}`,
    child,
    alive: true,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  child.once('exit', (code, signal) => {
    node.alive = false;
    if (stopping) return;
    console.log(`${name} exited (${signal ?? `code ${code}`})`);
    if (nodes.every((other) => !other.alive)) void stopAll(1);
  });
  forwardLines(child.stdout!, name, process.stdout);
  forwardLines(child.stderr!, name, process.stderr);
  return node;
}

function forwardLines(from: NodeJS.ReadableStream, name: string, to: NodeJS.WritableStream): void {
  let partial = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (!BOOT_NOISE.test(line)) to.write(`${name} | ${line}\n`);
  });
}

/** Polls every node's GET /cluster until all of them answer and agree on a leader. */
async function electedLeader(): Promise<string> {
  const deadline = Date.now() + ELECTION_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (nodes.some((node) => !node.alive)) throw new Error('a node exited during start-up');
    const leaders = await Promise.all(nodes.map((node) => leaderSeenBy(node)));
    if (leaders[0] && leaders.every((leader) => leader === leaders[0])) return leaders[0];
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no leader within ${ELECTION_DEADLINE_MS / 1000} s`);
}

async function leaderSeenBy(node: Node): Promise<string | null> {
  try {
    const response = await fetch(`${node.url}/cluster`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? ((await response.json()) as { leader: string | null }).leader : null;
  } catch {
    return null; // not listening yet
  }
}

/** SIGTERM to each node (a second Ctrl-C sends SIGKILL), then waits for every one to exit. */
async function stopAll(exitCode: number): Promise<void> {
  if (stopping) {
    for (const node of nodes) if (node.alive) node.child.kill('SIGKILL');
    return;
  }
  stopping = true;
  console.log('\nstopping the cluster...');
  for (const node of nodes) if (node.alive) node.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const node of nodes) {
      if (!node.alive) continue;
      console.log(`${node.name} did not stop within ${STOP_DEADLINE_MS / 1000} s: killing it`);
      node.child.kill('SIGKILL');
    }
  }, STOP_DEADLINE_MS);
  await Promise.all(nodes.map((node) => node.exited));
  clearTimeout(timer);
  console.log('all nodes stopped');
  process.exit(exitCode);
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
