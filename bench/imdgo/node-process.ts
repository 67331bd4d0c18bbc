import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monotonicMs } from '../load/clock.ts';
import { isRunning, terminate, track } from '../../scripts/child-processes.ts';
import { PendingRequests } from '../../scripts/pending-requests.ts';
import type { NodeArgs, NodeMessage, NodeReplies, NodeRequest } from './protocol.ts';

const ENTRY = fileURLToPath(new URL('./bench-node.ts', import.meta.url));
// Generous: a Nest context takes tens of seconds to start on a machine many times oversubscribed.
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
/** Chunks of a node's output kept to explain its death. */
const LOG_TAIL_CHUNKS = 30;

export interface NodeProcessOptions {
  readonly name: string;
  readonly args: NodeArgs;
  /** Node flags of the child (heap size, --cpu-prof). */
  readonly execArgv: readonly string[];
  /** Print the node's output as it comes instead of only when it dies. */
  readonly verbose: boolean;
}

/** The orchestrator's handle on one bench node process: requests over IPC, kill -9, orderly stop. */
export class NodeProcess {
  readonly name: string;
  readonly nodeId: string;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly pending = new PendingRequests();
  private readonly logTail: string[] = [];
  private killedOnPurpose = false;

  private constructor(options: NodeProcessOptions) {
    this.name = options.name;
    this.nodeId = options.args.nodeId;
    this.child = track(
      fork(ENTRY, [JSON.stringify(options.args)], {
        execPath: process.execPath,
        execArgv: [...options.execArgv],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      }),
    );
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => this.log(chunk, options.verbose));
    }
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.once('exit', (code, signal) => {
      const why = `${this.name} exited (${signal ?? `code ${code}`})`;
      if (!this.killedOnPurpose && code !== 0)
        console.error(`${why}; its last output:\n${this.logTail.join('')}`);
      this.pending.rejectAll(new Error(why));
    });
  }

  static async start(options: NodeProcessOptions): Promise<NodeProcess> {
    const node = new NodeProcess(options);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${node.name} did not start`)), START_TIMEOUT_MS);
      node.child.once('exit', () => reject(new Error(`${node.name} exited during start-up`)));
      node.child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    node.child.on('message', (message: NodeMessage) => node.receive(message));
    return node;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return isRunning(this.child);
  }

  request<K extends NodeRequest['kind']>(
    request: Extract<NodeRequest, { kind: K }>,
    timeoutMs: number,
  ): Promise<NodeReplies[K]> {
    return this.pending.start(
      timeoutMs,
      () => new Error(`${this.name}: no answer to ${request.kind} within ${timeoutMs} ms`),
      (id) => this.child.send({ id, request }),
    );
  }

  /** kill -9; returns the monotonic time right after the signal was sent. */
  kill(): number {
    this.killedOnPurpose = true;
    process.kill(this.child.pid!, 'SIGKILL');
    return monotonicMs();
  }

  /** SIGSTOP or SIGCONT; returns the monotonic time right after the signal was sent. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): number {
    process.kill(this.child.pid!, signal);
    return monotonicMs();
  }

  /** Asks the node to close its Nest context and exit; kills it if it does not. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.killedOnPurpose = true;
    try {
      await this.request({ kind: 'stop' }, STOP_TIMEOUT_MS);
      await this.exited;
    } catch {
      await terminate(this.child);
    }
  }

  private receive(message: NodeMessage): void {
    if (message.type !== 'reply') return;
    if (message.ok) this.pending.resolve(message.id, message.result);
    else this.pending.reject(message.id, new Error(`${this.name}: ${message.error}`));
  }

  private log(chunk: string, verbose: boolean): void {
    if (verbose) process.stderr.write(chunk.replace(/^(?=.)/gm, `${this.name} | `));
    this.logTail.push(chunk);
    if (this.logTail.length > LOG_TAIL_CHUNKS) this.logTail.shift();
  }
}
