import type { RunSpec } from '../results.ts';
import type { BenchSystem } from '../system.ts';
import { DemoCluster } from './demo-cluster.ts';
import type { GeneratorProcess } from './generator-process.ts';
import { wireSystem } from './wire-system.ts';

export interface ImdgoWireOptions {
  readonly runs: readonly RunSpec[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly dataDir: string | null;
  readonly generator: GeneratorProcess;
  readonly preloadTimeoutMs: number;
  readonly verbose: boolean;
  /** Node flags of the demo processes (heap size, --cpu-prof). */
  readonly execArgv: readonly string[];
}

/** imdgo's demo app, three processes, driven through its REST API by the load generator. */
export async function openImdgoWire(options: ImdgoWireOptions): Promise<BenchSystem> {
  const cluster = await DemoCluster.start(options.dataDir, options.verbose, options.execArgv);
  try {
    await options.generator.preload('imdgo', (await cluster.leader()).url, options.preloadTimeoutMs);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return wireSystem({
    system: 'imdgo',
    target: 'imdgo',
    durable: options.dataDir !== null,
    runs: options.runs,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    generator: options.generator,
    urlOf: async (on) => (on === 'leader' ? await cluster.leader() : await cluster.follower()).url,
    serverCpuUs: () => cluster.cpuUs(),
    close: () => cluster.stop(),
  });
}
