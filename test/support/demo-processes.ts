import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { isRunning } from '../../scripts/child-processes.ts';
import { ensureBuilt } from './ensure-built.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/apps/demo/src/main.js');
const HOST = '127.0.0.1';
const HTTP_TIMEOUT_MS = 3_000;
const POLL_MS = 100;

/** The demo's processes run the build in dist/: rebuilds it when a source is newer. */
export function ensureDemoBuilt(): void {
  ensureBuilt('dist/apps/demo/src/main.js', ['libs/imdgo/src', 'apps/demo/src', 'apps/demo/public']);
}

/** One demo node (`npm start`'s kind) in its own process, in memory mode; restarted on the same ports. */
export class DemoProcess {
  readonly name: string;
  readonly peer: string;
  readonly url: string;
  private readonly args: readonly string[];
  private child: ChildProcess | null = null;
  /** Everything every incarnation of this node printed. */
  output = '';

  constructor(
    name: string,
    peer: string,
    httpPort: number,
    members: readonly string[],
    flags: readonly string[] = [],
  ) {
    this.name = name;
    this.peer = peer;
    this.url = `http://${HOST}:${httpPort}`;
    this.args = [
      MAIN,
      '--id',
      peer,
      '--members',
      members.join(','),
      '--http-port',
      String(httpPort),
      ...flags,
    ];
  }

  get running(): boolean {
    return this.child !== null && isRunning(this.child);
  }

  start(): void {
    const child = spawn(process.execPath, this.args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.child = child;
  }

  /** kill -9: the process and everything it held in memory are gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !isRunning(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** GET or POST `path`; null when the node does not answer (down, starting, or too slow). */
  async request(
    path: string,
    init: { method?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: unknown } | null> {
    try {
      const response = await fetch(`${this.url}${path}`, {
        method: init.method ?? 'GET',
        headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? null : JSON.parse(text) };
    } catch {
      return null;
    }
  }

  async isReady(): Promise<boolean> {
    return (await this.request('/ready'))?.status === 200;
  }
}

/** Processes of a demo cluster on free loopback ports. Call `stopAll` in afterAll/finally. */
export class DemoCluster {
  readonly nodes: DemoProcess[];

  private constructor(nodes: DemoProcess[]) {
    this.nodes = nodes;
  }

  /** `flags`: more demo flags for every node, e.g. `['--partitions', '1']`. */
  static async start(size: number, flags: readonly string[] = []): Promise<DemoCluster> {
    ensureDemoBuilt();
    const peers = await Promise.all(Array.from({ length: size }, () => freePort()));
    const https = await Promise.all(Array.from({ length: size }, () => freePort()));
    const members = peers.map((port) => `${HOST}:${port}`);
    const cluster = new DemoCluster(
      members.map((peer, i) => new DemoProcess(`n${i + 1}`, peer, https[i]!, members, flags)),
    );
    for (const node of cluster.nodes) node.start();
    await cluster.waitAllReady(120_000);
    return cluster;
  }

  async waitAllReady(timeoutMs: number): Promise<void> {
    await until(
      async () => (await Promise.all(this.nodes.map((n) => n.isReady()))).every(Boolean),
      () => `every node ready: ${this.describe()}`,
      timeoutMs,
    );
  }

  /** The node that says it leads, if one answers. */
  async leader(): Promise<DemoProcess | undefined> {
    for (const node of this.nodes) {
      const local = (await node.request('/cluster/local'))?.body as { role?: string } | undefined;
      if (local?.role === 'leader') return node;
    }
    return undefined;
  }

  describe(): string {
    return this.nodes.map((n) => `${n.name} ${n.peer} ${n.running ? 'running' : 'down'}`).join(', ');
  }

  /** Each node's output, for a failure message. */
  outputs(lines = 15): string {
    return this.nodes
      .map((n) => `--- ${n.name}\n${n.output.split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
  }
}

/** Polls `probe` until it holds; throws `what()` after `timeoutMs`. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  what: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Every entry of the default map under `prefix`, read page by page (linearizable) from `node`. */
export async function readAll(node: DemoProcess, prefix: string): Promise<Map<string, unknown>> {
  const entries = new Map<string, unknown>();
  let after: string | null = null;
  do {
    const query = `prefix=${encodeURIComponent(prefix)}&limit=1000${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
    const page = await node.request(`/kv?${query}`);
    if (page?.status !== 200) throw new Error(`${node.name} did not list ${prefix}: ${JSON.stringify(page)}`);
    const { items, cursor } = page.body as {
      items: { key: string; value: unknown }[];
      cursor: string | null;
    };
    for (const item of items) entries.set(item.key, item.value);
    after = cursor;
  } while (after !== null);
  return entries;
}

/**
 * Clients writing unique keys through every running node in turn, until stopped: remembers each write that
 * was acknowledged (200) and the longest time without one.
 */
export class ContinuousWriter {
  readonly acknowledged = new Map<string, number>();
  longestGapMs = 0;
  failures = 0;
  private stopped = false;
  private lastAck = Date.now();
  private readonly loops: Promise<void>[];

  constructor(cluster: DemoCluster, prefix: string, clients = 4) {
    this.loops = Array.from({ length: clients }, (_, client) =>
      this.run(cluster, `${prefix}${client}-`, client),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async run(cluster: DemoCluster, prefix: string, offset: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const running = cluster.nodes.filter((n) => n.running);
      const node = running[(i + offset) % running.length];
      if (!node) continue;
      const key = `${prefix}${i}`;
      const answer = await node.request(`/kv/${key}`, { method: 'PUT', body: { value: i } });
      if (answer?.status === 200) {
        const now = Date.now();
        this.longestGapMs = Math.max(this.longestGapMs, now - this.lastAck);
        this.lastAck = now;
        this.acknowledged.set(key, i);
      } else {
        this.failures++;
        // Down, or no leader for now: the next node in turn, after a moment.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}
