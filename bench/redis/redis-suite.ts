import { ensureInstalled } from '../apt.ts';
import { runClosedLoop } from '../load/closed-loop.ts';
import { ownCpuUs, withCpuPerOp } from '../load/cpu.ts';
import { makeDataset } from '../load/dataset.ts';
import { operation, preload, type KvClient } from '../load/kv-client.ts';
import type { ResultRow, RunSpec } from '../results.ts';
import { RedisServer } from './redis-server.ts';

export interface RedisSuiteOptions {
  readonly runs: readonly RunSpec[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly verbose: boolean;
}

/** A single redis-server (Debian's package) loaded through ioredis from this process. */
export async function runRedisSuite(
  options: RedisSuiteOptions,
  onRow: (row: ResultRow) => void,
): Promise<ResultRow[]> {
  const server = await RedisServer.start(ensureInstalled('redis-server', 'redis-server'), options.verbose);
  const redis = server.client();
  try {
    const data = makeDataset(options.keys, options.valueBytes);
    const kv: KvClient = { put: (key, value) => redis.set(key, value), get: (key) => redis.get(key) };
    await preload(kv, data);
    const rows: ResultRow[] = [];
    for (const spec of options.runs) {
      const window = { warmupMs: options.warmupMs, durationMs: options.durationMs };
      const summary = await withCpuPerOp(
        async () => server.cpuUs() + ownCpuUs(),
        options.warmupMs,
        () => runClosedLoop(operation(spec.workload, kv, data), spec.concurrency, window),
      );
      const row: ResultRow = { system: 'redis', ...spec, ...summary };
      rows.push(row);
      onRow(row);
    }
    return rows;
  } finally {
    redis.disconnect();
    await server.stop();
  }
}
