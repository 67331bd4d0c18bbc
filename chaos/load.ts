import type { SeededRandom } from '../libs/imdgo/src/raft/random.ts';
import type { ChaosCluster } from './cluster.ts';
import type { History } from './history.ts';
import { RequestFailed } from './node-process.ts';
import type { ClientOp } from './protocol.ts';

export interface LoadOptions {
  readonly clients: number;
  /** Keys in use at any time; each is retired after `opsPerKey` operations so the checker's work per key stays small. */
  readonly activeKeys: number;
  readonly opsPerKey: number;
  /** Each client waits up to this long between two operations. */
  readonly thinkMs: number;
  /** How long a client waits for an answer before it gives the operation up (the node may be paused). */
  readonly opTimeoutMs: number;
}

/**
 * Concurrent clients doing set, linearizable get and compare-and-set on a few keys, each call through a
 * random running node (leader or follower), every invocation and completion recorded. A write with no
 * answer (an error, a timeout, a dead node) may still apply: it completes `info`, and the client goes on
 * as a new process. No error proves a write had no effect: even NoLeaderError may follow an attempt that
 * reached a leader before it was deposed. A get with no answer had no effect: it completes `fail`.
 */
export class Load {
  /** Why operations ended without an answer, e.g. `RequestTimeoutError` or `no answer`. */
  readonly unanswered = new Map<string, number>();
  private readonly cluster: ChaosCluster;
  private readonly history: History;
  private readonly random: SeededRandom;
  private readonly options: LoadOptions;
  private readonly keys: { name: string; ops: number }[] = [];
  private readonly used: string[] = [];
  /** The newest value a client saw for each key: what a cas expects, so that some of them apply. */
  private readonly lastSeen = new Map<string, number | null>();
  private nextValue = 1;
  private stopping = false;
  private loops: Promise<void>[] = [];

  constructor(cluster: ChaosCluster, history: History, random: SeededRandom, options: LoadOptions) {
    this.cluster = cluster;
    this.history = history;
    this.random = random;
    this.options = options;
    for (let i = 0; i < options.activeKeys; i++) this.keys.push({ name: this.newKey(), ops: 0 });
  }

  /** Every key an operation was invoked on. */
  get keysUsed(): readonly string[] {
    return this.used;
  }

  start(): void {
    this.loops = Array.from({ length: this.options.clients }, () => this.client());
  }

  /** Lets each client finish its current operation (bounded by opTimeoutMs). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async client(): Promise<void> {
    let process = this.history.newProcess();
    while (!this.stopping) {
      const nodes = this.cluster.running();
      if (nodes.length > 0) {
        const op = this.nextOp();
        if (!(await this.run(process, op, this.random.pick(nodes)))) process = this.history.newProcess();
      }
      await new Promise((resolve) => setTimeout(resolve, this.random.int(this.options.thinkMs + 1)));
    }
  }

  /** Returns false when the operation was left open (info): its process cannot invoke again. */
  private async run(process: number, op: ClientOp, node: ChaosCluster['nodes'][number]): Promise<boolean> {
    this.history.invoke(process, op);
    try {
      const result = await node.request({ kind: 'op', op }, this.options.opTimeoutMs);
      if ('value' in result) {
        this.history.complete(process, op, 'ok', result.value);
        this.lastSeen.set(op.key, result.value);
      } else {
        this.history.complete(process, op, result.applied ? 'ok' : 'fail');
        this.lastSeen.set(op.key, result.current);
      }
      return true;
    } catch (error) {
      const cause = error instanceof RequestFailed && error.remote ? error.remote.name : 'no answer';
      this.unanswered.set(cause, (this.unanswered.get(cause) ?? 0) + 1);
      this.history.complete(process, op, op.f === 'get' ? 'fail' : 'info');
      return op.f === 'get';
    }
  }

  private nextOp(): ClientOp {
    const slot = this.random.int(this.keys.length);
    const key = this.keys[slot]!;
    if (++key.ops >= this.options.opsPerKey) this.keys[slot] = { name: this.newKey(), ops: 0 };
    const roll = this.random.int(10);
    if (roll < 4) return { f: 'get', key: key.name };
    const value = this.nextValue++;
    if (roll < 7) return { f: 'set', key: key.name, value };
    // Mostly the value last seen, sometimes absent: some cas calls apply, others are refused.
    const expected = this.random.chance(0.8) ? (this.lastSeen.get(key.name) ?? null) : null;
    return { f: 'cas', key: key.name, expected, next: value };
  }

  private newKey(): string {
    const name = `k${this.used.length}`;
    this.used.push(name);
    return name;
  }
}
