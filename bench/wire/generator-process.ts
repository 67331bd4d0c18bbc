import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { terminate, track } from '../../scripts/child-processes.ts';
import { PendingRequests } from '../../scripts/pending-requests.ts';
import { processCpuUs } from '../load/cpu.ts';
import type { LoadSummary } from '../load/latency.ts';
import type { LoadWindow } from '../load/closed-loop.ts';
import type { RunSpec } from '../results.ts';
import type { GeneratorArgs, GeneratorRequest } from './generator-protocol.ts';
import type { WireTarget } from './http-kv.ts';

const ENTRY = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const RUN_SLACK_MS = 60_000;

/** The orchestrator's handle on a load-generator process. */
export class GeneratorProcess {
  private readonly child: ChildProcess;
  private readonly pending = new PendingRequests();

  private constructor(args: GeneratorArgs) {
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

  static async start(args: GeneratorArgs): Promise<GeneratorProcess> {
    const generator = new GeneratorProcess(args);
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

  preload(target: WireTarget, baseUrl: string, timeoutMs: number): Promise<null> {
    return this.request({ kind: 'preload', target, baseUrl }, timeoutMs);
  }

  run(target: WireTarget, baseUrl: string, spec: RunSpec, window: LoadWindow): Promise<LoadSummary> {
    return this.request(
      { kind: 'run', target, baseUrl, spec, window },
      window.warmupMs + window.durationMs + RUN_SLACK_MS,
    );
  }

  stop(): Promise<void> {
    return terminate(this.child);
  }

  private request<T>(request: GeneratorRequest, timeoutMs: number): Promise<T> {
    return this.pending.start(
      timeoutMs,
      () => new Error(`load generator: no answer to ${request.kind} within ${timeoutMs} ms`),
      (id) => this.child.send({ id, request }),
    );
  }
}
