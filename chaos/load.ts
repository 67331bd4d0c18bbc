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

/** Out of 100: how often each operation is drawn. */
const MIX: readonly (readonly [ClientOp['f'], number])[] = [
  ['get', 30],
  ['set', 13],
  ['delete', 7],
  ['cas', 10],
  ['putIfAbsent', 8],
  ['setIfVersion', 10],
  ['increment', 22],
];
/** A write gets a time to live this often, of up to MAX_TTL_MS, so keys expire while the run goes on. */
const TTL_CHANCE = 0.25;
const MAX_TTL_MS = 3_000;
/** Written values are multiples of this, so that they stay apart from the sums increments make. */
const VALUE_STEP = 1_000;

/**
 * Concurrent clients doing every kind of operation (linearizable get, set, delete, cas, putIfAbsent,
 * setIfVersion, increment; some writes with a TTL) on a few keys, each call through a random running node
 * (leader or follower), every invocation and completion recorded. A write with no answer (an error, a
 * timeout, a dead node) may still apply: it completes `info`, and the client goes on as a new process. No
 * error proves a write had no effect: even NoLeaderError may follow an attempt that reached a leader
 * before it was deposed. A get with no answer had no effect: it completes `fail`.
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
  /** The newest value and version a client saw for each key: what a cas or setIfVersion expects, so some apply. */
  private readonly lastSeen = new Map<string, { value: number | null; version: number | undefined }>();
  /** Operations invoked, and those that got an answer (a refusal too: it went through the log). */
  invoked = 0;
  answered = 0;
  /** When the last answer came (ms since the epoch): the stall watch reads it. */
  lastAnswerAt = Date.now();
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
    this.invoked++;
    try {
      const result = await node.request({ kind: 'op', op }, this.options.opTimeoutMs);
      if ('read' in result) {
        this.history.complete(process, op, 'ok', { value: result.read, version: result.version });
        this.lastSeen.set(op.key, { value: result.read, version: result.version });
      } else {
        const answer = op.f === 'increment' ? { value: result.current } : undefined;
        this.history.complete(process, op, result.applied ? 'ok' : 'fail', answer);
        if (op.f !== 'delete' || result.applied) {
          this.lastSeen.set(op.key, { value: result.current, version: result.version });
        }
      }
      this.answered++;
      this.lastAnswerAt = Date.now();
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
    let roll = this.random.int(100);
    const [f] = MIX.find(([, share]) => (roll -= share) < 0)!;
    const seen = this.lastSeen.get(key.name);
    const value = this.nextValue++ * VALUE_STEP;
    const ttl = this.random.chance(TTL_CHANCE) ? { ttlMs: 1 + this.random.int(MAX_TTL_MS) } : {};
    switch (f) {
      case 'get':
      case 'delete':
        return { f, key: key.name };
      case 'set':
      case 'putIfAbsent':
        return { f, key: key.name, value, ...ttl };
      case 'cas': {
        // Mostly the value last seen, sometimes absent: some cas calls apply, others are refused.
        const expected = this.random.chance(0.8) ? (seen?.value ?? null) : null;
        return { f, key: key.name, expected, next: value, ...ttl };
      }
      case 'setIfVersion': {
        const version = this.random.chance(0.8) ? (seen?.version ?? 0) : this.random.int(3);
        return { f, key: key.name, version, value, ...ttl };
      }
      case 'increment':
        return { f, key: key.name, delta: 1 + this.random.int(3), ...ttl };
    }
  }

  private newKey(): string {
    const name = `k${this.used.length}`;
    this.used.push(name);
    return name;
  }
}
