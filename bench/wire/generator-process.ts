import { fileURLToPath } from 'node:url';
import { ForkedGenerator } from '../load/forked-generator.ts';
import type { LoadSummary } from '../load/latency.ts';
import type { LoadWindow } from '../load/closed-loop.ts';
import type { RunSpec } from '../results.ts';
import type { GeneratorArgs, GeneratorRequest } from './generator-protocol.ts';
import type { WireTarget } from './http-kv.ts';

const ENTRY = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
const RUN_SLACK_MS = 60_000;

/** The orchestrator's handle on the wire table's load-generator process. */
export class GeneratorProcess {
  private readonly forked: ForkedGenerator<GeneratorRequest>;

  private constructor(forked: ForkedGenerator<GeneratorRequest>) {
    this.forked = forked;
  }

  static async start(args: GeneratorArgs): Promise<GeneratorProcess> {
    return new GeneratorProcess(await ForkedGenerator.start<GeneratorRequest>(ENTRY, args));
  }

  /** Its CPU µs so far, from /proc. */
  cpuUs(): number {
    return this.forked.cpuUs();
  }

  preload(target: WireTarget, baseUrl: string, timeoutMs: number): Promise<null> {
    return this.forked.request({ kind: 'preload', target, baseUrl }, timeoutMs);
  }

  run(target: WireTarget, baseUrl: string, spec: RunSpec, window: LoadWindow): Promise<LoadSummary> {
    return this.forked.request(
      { kind: 'run', target, baseUrl, spec, window },
      window.warmupMs + window.durationMs + RUN_SLACK_MS,
    );
  }

  stop(): Promise<void> {
    return this.forked.stop();
  }
}
