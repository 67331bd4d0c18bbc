import type { SeededRandom } from '../src/raft/random.ts';
import type { NodeId } from '../src/raft/types.ts';
import type { KvCommand } from '../src/state-machine/commands.ts';
import type { ClientReply } from './sim-node.ts';

/** One line of the history, in imdgo's Jepsen-like JSON-lines format (see the checker's parser). */
export interface HistoryEvent {
  readonly process: number;
  readonly type: 'invoke' | 'ok' | 'fail' | 'info';
  readonly f: 'get' | 'set' | 'cas';
  readonly key: string;
  readonly value?: unknown;
}

/** What the workload needs from the simulation. */
export interface WorkloadHost {
  readonly now: number;
  nodeIds(): readonly NodeId[];
  submitWrite(
    node: NodeId,
    request: number,
    session: { client: string; seq: number },
    command: KvCommand,
  ): void;
  submitRead(node: NodeId, request: number, key: string): void;
  scheduleClient(delayMs: number, client: number): void;
  scheduleTimeout(delayMs: number, client: number, request: number): void;
}

interface Client {
  readonly index: number;
  process: number;
  seq: number;
  op: { f: HistoryEvent['f']; key: string; value?: unknown } | null;
  request: number;
  attempts: number;
}

export const CLIENT_TIMEOUT_MS = 1500;
const MAX_ATTEMPTS = 3;

/**
 * Closed-loop clients doing set, linearizable get and compare-and-set on a few keys through any node,
 * as an embedded app would. A write that times out is retried with the same session stamp (so the state
 * machine applies it at most once); after the last attempt its outcome is unknown (`info`) and the client
 * continues as a new process, as Jepsen does.
 */
export class Workload {
  readonly history: HistoryEvent[] = [];
  completed = 0;
  unknown = 0;
  stopped = false;
  private readonly clients: Client[] = [];
  private readonly requests = new Map<number, Client>();
  private nextRequest = 1;
  private nextValue = 1;
  private readonly recentValues = new Map<string, number[]>();
  private readonly random: SeededRandom;
  private readonly keys: readonly string[];
  private readonly host: WorkloadHost;

  constructor(random: SeededRandom, host: WorkloadHost, clientCount: number, keyCount: number) {
    this.random = random;
    this.host = host;
    this.keys = Array.from({ length: keyCount }, (_, i) => `k${i}`);
    for (let index = 0; index < clientCount; index++) {
      this.clients.push({ index, process: index, seq: 0, op: null, request: 0, attempts: 0 });
      host.scheduleClient(random.int(50), index);
    }
  }

  /** The client's next step: a new operation, or a retry of the current one. */
  step(clientIndex: number): void {
    const client = this.clients[clientIndex]!;
    if (client.op === null) {
      if (this.stopped) return;
      client.op = this.nextOperation();
      client.seq++;
      client.attempts = 0;
      this.history.push({ process: client.process, type: 'invoke', ...client.op });
    }
    client.attempts++;
    client.request = this.nextRequest++;
    this.requests.set(client.request, client);
    const node = this.random.pick(this.host.nodeIds());
    const op = client.op;
    if (op.f === 'get') {
      this.host.submitRead(node, client.request, op.key);
    } else {
      const command: KvCommand =
        op.f === 'set'
          ? { op: 'set', key: op.key, value: op.value }
          : {
              op: 'cas',
              key: op.key,
              expected: (op.value as unknown[])[0],
              value: (op.value as unknown[])[1],
            };
      this.host.submitWrite(node, client.request, { client: `c${client.index}`, seq: client.seq }, command);
    }
    this.host.scheduleTimeout(CLIENT_TIMEOUT_MS, client.index, client.request);
  }

  onReply(request: number, reply: ClientReply): void {
    const client = this.requests.get(request);
    if (!client || client.request !== request || client.op === null) return;
    this.requests.delete(request);
    const op = client.op;
    if (reply.kind === 'rejected') {
      // Not executed: retry after a short pause, without using up an attempt.
      client.attempts--;
      this.host.scheduleClient(20 + this.random.int(80), client.index);
      return;
    }
    if (reply.kind === 'read') {
      this.finish(client, 'ok', reply.value);
    } else if (op.f === 'cas') {
      this.finish(client, reply.result.applied ? 'ok' : 'fail', op.value);
    } else {
      this.finish(client, 'ok', op.value);
    }
  }

  onTimeout(clientIndex: number, request: number): void {
    const client = this.clients[clientIndex]!;
    if (client.request !== request || client.op === null) return;
    this.requests.delete(request);
    if (client.attempts < MAX_ATTEMPTS) {
      this.step(clientIndex);
      return;
    }
    if (client.op.f === 'get') {
      // A read that never answered changed nothing.
      this.finish(client, 'fail', undefined);
      return;
    }
    this.unknown++;
    this.history.push({ process: client.process, type: 'info', ...client.op });
    client.op = null;
    client.process += this.clients.length;
    this.host.scheduleClient(this.random.int(20), client.index);
  }

  /** Ends the run: operations still open stay open, and the checker treats them as unknown. */
  stop(): void {
    this.stopped = true;
  }

  private finish(client: Client, type: 'ok' | 'fail', value: unknown): void {
    const op = client.op!;
    this.history.push({ process: client.process, type, f: op.f, key: op.key, value });
    client.op = null;
    this.completed++;
    this.host.scheduleClient(this.random.int(30), client.index);
  }

  /** Recently written values per key: compare-and-set expects one of them, so that some succeed. */
  private remember(key: string, value: number): number {
    const recent = this.recentValues.get(key) ?? [];
    recent.push(value);
    if (recent.length > 4) recent.shift();
    this.recentValues.set(key, recent);
    return value;
  }

  private nextOperation(): NonNullable<Client['op']> {
    const key = this.random.pick(this.keys);
    const roll = this.random.int(10);
    if (roll < 4) return { f: 'get', key };
    if (roll < 8) return { f: 'set', key, value: this.remember(key, this.nextValue++) };
    const recent = this.recentValues.get(key) ?? [];
    const expected = recent.length === 0 || this.random.chance(0.2) ? null : this.random.pick(recent);
    return { f: 'cas', key, value: [expected, this.remember(key, this.nextValue++)] };
  }
}
