import { createWriteStream, type WriteStream } from 'node:fs';
import type { SeededRandom } from '../libs/imdgo/src/raft/random.ts';
import type { ChaosCluster } from './cluster.ts';
import type { FencedWriteRecord, LockGrantRecord } from './lock-check.ts';

export interface LockLoadOptions {
  readonly clients: number;
  readonly names: readonly string[];
  /** A holder keeps the lock up to this long before its write. */
  readonly holdMs: number;
  readonly thinkMs: number;
  readonly opTimeoutMs: number;
}

/** Out of 100: how often a client waits with `lock()` rather than `tryLock({ waitMs })`. */
const PLAIN_LOCK_SHARE = 30;

/**
 * Lock clients, each on one seat of the cluster (the node there, restarted or not): take a lock
 * (`lock()` or `tryLock({ waitMs })`), hold it briefly, write the fencing token to the register the lock
 * protects, then `unlock()`. Every acknowledged grant and every answered write is recorded (also to a
 * JSON-lines file), with the orchestrator's times.
 */
export class LockLoad {
  readonly grants: LockGrantRecord[] = [];
  readonly writes: FencedWriteRecord[] = [];
  /** tryLock calls whose wait ran out; acquires, writes and releases with no answer. */
  timedOutWaits = 0;
  unanswered = 0;
  invoked = 0;
  answered = 0;
  lastAnswerAt = Date.now();
  private readonly cluster: ChaosCluster;
  private readonly random: SeededRandom;
  private readonly options: LockLoadOptions;
  private readonly file: WriteStream;
  private stopping = false;
  private loops: Promise<void>[] = [];

  constructor(cluster: ChaosCluster, random: SeededRandom, path: string, options: LockLoadOptions) {
    this.cluster = cluster;
    this.random = random;
    this.options = options;
    this.file = createWriteStream(path);
  }

  start(): void {
    this.loops = Array.from({ length: this.options.clients }, (_, seat) => this.client(seat));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    await new Promise((resolve) => this.file.end(resolve));
  }

  private async client(seat: number): Promise<void> {
    while (!this.stopping) {
      const node = this.cluster.nodes[seat % this.cluster.nodes.length];
      if (node?.running) await this.cycle(node);
      await sleep(this.random.int(this.options.thinkMs + 1));
    }
  }

  private async cycle(node: ChaosCluster['nodes'][number]): Promise<void> {
    const { opTimeoutMs } = this.options;
    const name = this.random.pick(this.options.names);
    const waitMs = this.random.int(100) < PLAIN_LOCK_SHARE ? null : this.random.int(opTimeoutMs / 2);
    const invokedAt = Date.now();
    const grant = await this.call(() =>
      node.request({ kind: 'lock-acquire', name, waitMs }, opTimeoutMs + (waitMs ?? 0)),
    );
    if (grant === undefined) return;
    if (grant === null) {
      this.timedOutWaits++;
      return;
    }
    const record: LockGrantRecord = {
      name,
      node: node.name,
      token: grant.token,
      invokedAt,
      ackedAt: Date.now(),
      releasedAt: Infinity,
    };
    this.grants.push(record);
    await sleep(this.random.int(this.options.holdMs + 1));
    const writeAt = Date.now();
    const written = await this.call(() =>
      node.request({ kind: 'lock-write', name, token: grant.token }, opTimeoutMs),
    );
    if (written !== undefined) {
      this.writes.push({ name, token: grant.token, invokedAt: writeAt, ackedAt: Date.now(), ...written });
      this.log({ write: name, token: grant.token, node: node.name, accepted: written.accepted });
    }
    record.releasedAt = Date.now();
    this.log({ ...record });
    await this.call(() => node.request({ kind: 'lock-release', handle: grant.handle }, opTimeoutMs));
  }

  /** The answer, or undefined when there was none (timeout, error, dead node). */
  private async call<T>(request: () => Promise<T>): Promise<T | undefined> {
    this.invoked++;
    try {
      const result = await request();
      this.answered++;
      this.lastAnswerAt = Date.now();
      return result;
    } catch {
      this.unanswered++;
      return undefined;
    }
  }

  private log(entry: object): void {
    this.file.write(`${JSON.stringify(entry)}\n`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
