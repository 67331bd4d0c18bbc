import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { terminate, track } from '../../scripts/child-processes.ts';
import { PendingRequests } from '../../scripts/pending-requests.ts';
import { processCpuUs } from '../load/cpu.ts';
import type { ScaleGeneratorArgs, ScaleGeneratorRequest } from './scale-generator-protocol.ts';

const ENTRY = fileURLToPath(new URL('./scale-generator.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** The orchestrator's handle on the scale load generator (forked outside the nodes' cgroups). */
export class ScaleGeneratorProcess {
  private readonly child: ChildProcess;
  private readonly pending = new PendingRequests();

  private constructor(args: ScaleGeneratorArgs) {
    this.child = track(
      fork(ENTRY, [JSON.stringify(args)], {
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

  static async start(args: ScaleGeneratorArgs): Promise<ScaleGeneratorProcess> {
    const generator = new ScaleGeneratorProcess(args);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the load generator did not start')), START_TIMEOUT_MS);
      generator.child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return generator;
  }

  /** Its CPU µs so far, from /proc. */
  cpuUs(): number {
    return processCpuUs(this.child.pid!);
  }

  request<T>(request: ScaleGeneratorRequest, timeoutMs: number): Promise<T> {
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
