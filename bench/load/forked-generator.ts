import { fork, type ChildProcess } from 'node:child_process';
import { terminate, track } from '../../scripts/child-processes.ts';
import { PendingRequests } from '../../scripts/pending-requests.ts';
import { processCpuUs } from './cpu.ts';

const START_TIMEOUT_MS = 30_000;

/**
 * The orchestrator's handle on a load generator forked from `entry` (which serves requests with
 * `serveGeneratorRequests`): requests over IPC, each answered or failed within its timeout.
 */
export class ForkedGenerator<Request extends { readonly kind: string }> {
  private readonly child: ChildProcess;
  private readonly pending = new PendingRequests();

  private constructor(entry: string, args: unknown) {
    this.child = track(
      fork(entry, [JSON.stringify(args)], {
        execPath: process.execPath,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    this.child.on(
      'message',
      (message: { type: string; id: number; ok: boolean; result?: unknown; error?: string }) => {
        if (message.type !== 'reply') return;
        if (message.ok) this.pending.resolve(message.id, message.result);
        else this.pending.reject(message.id, new Error(`load generator: ${message.error}`));
      },
    );
    this.child.once('exit', (code, signal) =>
      this.pending.rejectAll(new Error(`the load generator exited (${signal ?? `code ${code}`})`)),
    );
  }

  /** Forks `entry` with `args` (JSON, its first argument); resolves once it says it is ready. */
  static async start<Request extends { readonly kind: string }>(
    entry: string,
    args: unknown,
  ): Promise<ForkedGenerator<Request>> {
    const generator = new ForkedGenerator<Request>(entry, args);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the load generator did not start')), START_TIMEOUT_MS);
      generator.child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return generator;
  }

  /** Its CPU µs so far, from /proc: asking it would cost the measured process an IPC round. */
  cpuUs(): number {
    return processCpuUs(this.child.pid!);
  }

  request<T>(request: Request, timeoutMs: number): Promise<T> {
    return this.pending.start(
      timeoutMs,
      () => new Error(`load generator: no answer to ${request.kind} within ${timeoutMs / 1000} s`),
      (id) => this.child.send({ id, request }),
    );
  }

  stop(): Promise<void> {
    return terminate(this.child);
  }
}
