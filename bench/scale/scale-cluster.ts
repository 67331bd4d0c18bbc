import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { makeTempDir, terminate, track } from '../../scripts/child-processes.ts';
import { processCpuUs } from '../load/cpu.ts';
import { CpuCgroup, type Throttling } from './cgroup.ts';

const MAIN = fileURLToPath(new URL('../../dist/apps/demo/src/main.js', import.meta.url));
const HEAP_PROBE = fileURLToPath(new URL('./heap-probe.ts', import.meta.url));
const POLL_MS = 200;
const HEAP_TIMEOUT_MS = 30_000;

export interface ScaleClusterOptions {
  readonly nodes: number;
  /** Cores of CPU time each node may use (its cgroup's CFS quota). */
  readonly nodeCpu: number;
  /** ImdgoModule's `partitions`; 1 passes nothing (the library's one-group default). */
  readonly partitions: number;
  readonly readyTimeoutMs: number;
  readonly verbose: boolean;
}

export interface ScaleNode {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly cgroup: CpuCgroup;
  /** Why it exited, once it has. */
  exit: string | null;
}

/** Heap after a full collection, and resident memory, of one node. */
export interface NodeMemory {
  readonly heapUsed: number;
  readonly arrayBuffers: number;
  readonly rss: number;
}

/**
 * N demo app processes (the built `dist/apps/demo`), each in its own CPU cgroup with the same quota, so the
 * cluster behaves like N small hosts. Loaded over HTTP from outside the cgroups.
 */
export class ScaleCluster {
  readonly nodes: readonly ScaleNode[];
  readonly options: ScaleClusterOptions;
  private readonly heapDir: string;

  private constructor(nodes: readonly ScaleNode[], options: ScaleClusterOptions, heapDir: string) {
    this.nodes = nodes;
    this.options = options;
    this.heapDir = heapDir;
  }

  get label(): string {
    return `${this.options.nodes} nodes, ${this.options.partitions} partition(s)`;
  }

  static async start(options: ScaleClusterOptions): Promise<ScaleCluster> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run bench builds it`);
    const peerPorts: number[] = [];
    const httpPorts: number[] = [];
    for (let i = 0; i < options.nodes; i++) {
      peerPorts.push(await freePort());
      httpPorts.push(await freePort());
    }
    const members = peerPorts.map((port) => `127.0.0.1:${port}`);
    const heapDir = makeTempDir('/tmp', 'imdgo-scale-heap-');
    const grid = options.partitions === 1 ? [] : ['--partitions', String(options.partitions)];
    const nodes: ScaleNode[] = [];
    const cluster = new ScaleCluster(nodes, options, heapDir);
    try {
      for (const [i, peer] of members.entries()) {
        const name = `p${options.partitions}n${options.nodes}-node${i + 1}`;
        const cgroup = CpuCgroup.create(`imdgo-scale-${process.pid}-${name}`, options.nodeCpu);
        const args = [
          '--expose-gc',
          '--import',
          HEAP_PROBE,
          MAIN,
          '--id',
          peer,
          '--members',
          members.join(','),
        ];
        args.push('--http-port', String(httpPorts[i]), ...grid);
        const wrapped = cgroup.wrapCommand(process.execPath, args);
        const child = track(
          spawn(wrapped.command, wrapped.args, {
            stdio: ['ignore', options.verbose ? 'inherit' : 'ignore', 'pipe'],
            env: { ...process.env, IMDGO_SCALE_HEAP_DIR: heapDir, NO_COLOR: '1' },
          }),
        );
        const node: ScaleNode = { name, url: `http://127.0.0.1:${httpPorts[i]}`, child, cgroup, exit: null };
        const stderr: string[] = [];
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
          if (options.verbose) process.stderr.write(chunk);
          stderr.push(chunk);
          if (stderr.length > 40) stderr.shift();
        });
        child.once('exit', (code, signal) => {
          node.exit = `${name} exited (${signal ?? `code ${code}`}): ${stderr.join('').trim().slice(-2000)}`;
        });
        nodes.push(node);
      }
      await cluster.ready(options.readyTimeoutMs);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Resolves once every node answers GET /ready with 200 (a voter that has applied what was committed). */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const exited = this.nodes.find((node) => node.exit !== null);
      if (exited) throw new Error(exited.exit!);
      const answers = await Promise.all(this.nodes.map((node) => isReady(node.url)));
      if (answers.every(Boolean)) return;
      if (Date.now() > deadline) {
        const waiting = this.nodes.filter((_, i) => !answers[i]).map((node) => node.name);
        throw new Error(`${this.label}: not ready within ${timeoutMs / 1000} s: ${waiting.join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** User + system CPU µs of every node process so far. */
  cpuUs(): number {
    return this.nodes.reduce((sum, node) => sum + processCpuUs(node.child.pid!), 0);
  }

  throttling(): Throttling {
    return this.nodes
      .map((node) => node.cgroup.throttling())
      .reduce((sum, t) => ({
        periods: sum.periods + t.periods,
        throttledPeriods: sum.throttledPeriods + t.throttledPeriods,
        throttledUs: sum.throttledUs + t.throttledUs,
      }));
  }

  /** Every node's memory after a full collection (see heap-probe.ts). */
  async memory(): Promise<NodeMemory[]> {
    return Promise.all(this.nodes.map((node) => this.nodeMemory(node)));
  }

  /**
   * What each node holds, from its metrics: live keys (`imdgo_keys`, which with partitions > 1 covers only
   * the coordination group) and partitions it has a replica of (`imdgo_partitions`, partitions > 1 only).
   */
  async held(): Promise<{ keys: number; partitions: number }[]> {
    return Promise.all(
      this.nodes.map(async (node) => {
        const response = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
        const text = await response.text();
        return { keys: sumOfMetric(text, 'imdgo_keys'), partitions: sumOfMetric(text, 'imdgo_partitions') };
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => terminate(node.child)));
    for (const node of this.nodes) node.cgroup.remove();
    rmSync(this.heapDir, { recursive: true, force: true });
  }

  private async nodeMemory(node: ScaleNode): Promise<NodeMemory> {
    const file = join(this.heapDir, `${node.child.pid}.json`);
    rmSync(file, { force: true });
    process.kill(node.child.pid!, 'SIGWINCH');
    const deadline = Date.now() + HEAP_TIMEOUT_MS;
    while (!existsSync(file)) {
      if (node.exit !== null) throw new Error(node.exit);
      if (Date.now() > deadline) throw new Error(`${node.name} wrote no heap figures within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const usage = JSON.parse(readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
    return { heapUsed: usage.heapUsed, arrayBuffers: usage.arrayBuffers, rss: usage.rss };
  }
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false; // not listening yet
  }
}

/** The sum of every sample of `name` in a Prometheus text exposition. */
export function sumOfMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !/^[ {]/.test(line.slice(name.length))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
