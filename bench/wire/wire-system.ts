import { withCpuPerOp } from '../load/cpu.ts';
import type { RunSpec, SystemName } from '../results.ts';
import type { BenchSystem } from '../system.ts';
import type { GeneratorProcess } from './generator-process.ts';
import type { WireTarget } from './http-kv.ts';

export interface WireSystemOptions {
  readonly system: SystemName;
  readonly target: WireTarget;
  readonly durable: boolean;
  readonly runs: readonly RunSpec[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly generator: GeneratorProcess;
  /** The base URL of the node a run names (leader or follower). */
  urlOf(on: RunSpec['on']): Promise<string>;
  /** CPU µs so far of the system's server processes. */
  serverCpuUs(): number;
  close(): Promise<void>;
}

/**
 * A system driven over HTTP by the external load generator: client CPU is the generator's, server CPU the
 * system's processes'. Preloading is the caller's, through the same generator.
 */
export function wireSystem(options: WireSystemOptions): BenchSystem {
  return {
    system: options.system,
    mode: 'wire',
    durable: options.durable,
    runs: options.runs,
    async run(spec, round) {
      const url = await options.urlOf(spec.on);
      const window = { warmupMs: options.warmupMs, durationMs: options.durationMs };
      const summary = await withCpuPerOp(
        { client: async () => options.generator.cpuUs(), server: async () => options.serverCpuUs() },
        options.warmupMs,
        () => options.generator.run(options.target, url, spec, window),
      );
      return { system: options.system, mode: 'wire', durable: options.durable, round, ...spec, ...summary };
    },
    failover: async () => [],
    close: () => options.close(),
  };
}
