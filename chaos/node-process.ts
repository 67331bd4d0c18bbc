import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isRunning, track } from '../scripts/child-processes.ts';
import { forkInNamespace } from './packet-network.ts';
import { PendingRequests } from '../scripts/pending-requests.ts';
import type { NodeArgs, NodeMessage, NodeReplies, NodeRequest, RemoteError } from './protocol.ts';

/** The node runs from the build: its Nest module is decorated (see chaos/node.ts). */
export const NODE_ENTRY = fileURLToPath(new URL('../dist/chaos/node.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** Why a request got no answer from the node: it failed there (`remote`), timed out, or the node died. */
export class RequestFailed extends Error {
  readonly remote: RemoteError | null;

  constructor(message: string, remote: RemoteError | null = null) {
    super(message);
    this.remote = remote;
  }
}

/** The orchestrator's handle on one node process: requests over IPC, kill -9, SIGSTOP/SIGCONT. */
export class NodeProcess {
  readonly name: string;
  readonly args: NodeArgs;
  readonly exited: Promise<void>;
  paused = false;
  private readonly child: ChildProcess;
  private readonly pending = new PendingRequests();

  private constructor(
    name: string,
    args: NodeArgs,
    logFile: string,
    env: Record<string, string>,
    namespace: string | null,
  ) {
    this.name = name;
    this.args = args;
    // The node writes its log straight into the file: a paused orchestrator never backs it up.
    const log = openSync(logFile, 'a');
    this.child = track(
      fork(NODE_ENTRY, [JSON.stringify(args)], {
        ...(namespace === null ? { execPath: process.execPath } : forkInNamespace(namespace)),
        stdio: ['ignore', log, log, 'ipc'],
        env: { ...process.env, NO_COLOR: '1', ...env },
      }),
    );
    closeSync(log);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.once('exit', (code, signal) => {
      const why = new RequestFailed(`${this.name} exited (${signal ?? `code ${code}`})`);
      this.pending.rejectAll(why);
    });
    this.child.on('message', (message: NodeMessage) => this.receive(message));
  }

  /** Starts a node and resolves once its Nest context is up (it may still be joining the cluster). */
  static async start(
    name: string,
    args: NodeArgs,
    logFile: string,
    env: Record<string, string> = {},
    namespace: string | null = null,
  ): Promise<NodeProcess> {
    const node = new NodeProcess(name, args, logFile, env, namespace);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not start (see ${logFile})`)),
        START_TIMEOUT_MS,
      );
      node.child.once('exit', () => reject(new Error(`${name} exited during start-up (see ${logFile})`)));
      node.child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return node;
  }

  get id(): string {
    return this.args.nodeId;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return isRunning(this.child);
  }

  request<K extends NodeRequest['kind']>(
    request: NodeRequest & { kind: K },
    timeoutMs: number,
  ): Promise<NodeReplies[K]> {
    if (!this.running || !this.child.connected) {
      return Promise.reject(new RequestFailed(`${this.name} is not running`));
    }
    return this.pending.start(
      timeoutMs,
      () => new RequestFailed(`${this.name} did not answer ${request.kind} within ${timeoutMs} ms`),
      (id, fail) =>
        this.child.send({ id, request }, (error) => {
          if (error) fail(new RequestFailed(`${this.name}: ${error.message}`));
        }),
    );
  }

  kill(): Promise<void> {
    if (this.running) process.kill(this.pid, 'SIGKILL');
    this.paused = false;
    return this.exited;
  }

  pause(): void {
    if (!this.running) return;
    process.kill(this.pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (this.running) process.kill(this.pid, 'SIGCONT');
    this.paused = false;
  }

  /** Asks the node to close its Nest context; kills it if it does not within a few seconds. */
  async stop(): Promise<void> {
    if (!this.running) return;
    if (this.paused) this.resume();
    await this.request({ kind: 'stop' }, STOP_TIMEOUT_MS).catch(() => {});
    const timer = setTimeout(() => void this.kill(), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private receive(message: NodeMessage): void {
    if (message.type !== 'reply') return;
    if ('error' in message) {
      const { name, message: text } = message.error;
      this.pending.reject(message.id, new RequestFailed(`${name}: ${text}`, message.error));
    } else this.pending.resolve(message.id, message.result);
  }
}
