import { ensureInstalled } from '../../scripts/apt.ts';
import { runLoad } from '../load/run-load.ts';
import { ownCpuUs, withCpuPerOp } from '../load/cpu.ts';
import { makeDataset } from '../load/dataset.ts';
import { operation, preload, type KvClient } from '../load/kv-client.ts';
import type { RunSpec } from '../results.ts';
import type { BenchSystem } from '../system.ts';
import { RedisServer } from './redis-server.ts';

export interface RedisSuiteOptions {
  readonly runs: readonly RunSpec[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly verbose: boolean;
}

/**
 * A single redis-server (Debian's package, no persistence) loaded through ioredis from this process: client
 * CPU is this process's, server CPU the server's.
 */
export async function openRedis(options: RedisSuiteOptions): Promise<BenchSystem> {
  const server = await RedisServer.start(ensureInstalled('redis-server', 'redis-server'), options.verbose);
  const redis = server.client();
  const data = makeDataset(options.keys, options.valueBytes);
  const kv: KvClient = { put: (key, value) => redis.set(key, value), get: (key) => redis.get(key) };
  const close = async (): Promise<void> => {
    redis.disconnect();
    await server.stop();
  };
  try {
    await preload(kv, data);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    system: 'redis',
    mode: 'app',
    durable: false,
    runs: options.runs,
    async run(spec, round) {
      const window = { warmupMs: options.warmupMs, durationMs: options.durationMs };
      const summary = await withCpuPerOp(
        { client: async () => ownCpuUs(), server: async () => server.cpuUs() },
        options.warmupMs,
        () => runLoad(operation(spec.workload, kv, data), spec, window),
      );
      return { system: 'redis', mode: 'app', durable: false, round, ...spec, ...summary };
    },
    failover: async () => [],
    close,
  };
}
