/**
 * Memory of one imdgo node (a single-member cluster, in its own process with --expose-gc): heap and
 * ArrayBuffer bytes before and after `writes` sets of `valueBytes`-byte values, after full collections.
 * `distinctKeys` false writes one key over and over, which leaves only the log to grow.
 * Argument: JSON { writes, valueBytes, distinctKeys }; sends the result over IPC.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ImdgoModule, ImdgoStore } from 'imdgo';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';

export interface MemoryArgs {
  readonly writes: number;
  readonly valueBytes: number;
  readonly distinctKeys: boolean;
}

export interface MemoryGrowth {
  readonly heapBytes: number;
  readonly arrayBufferBytes: number;
}

const CONCURRENCY = 256;
/** How long memory may keep moving after the load (a background snapshot) before it is read anyway. */
const SETTLE_LIMIT_MS = 30_000;

const args = JSON.parse(process.argv[2]!) as MemoryArgs;
process.on('disconnect', () => process.exit(1));
const gc = globalThis.gc;
if (!gc) throw new Error('run with --expose-gc');

const id = `127.0.0.1:${await freePort()}`;
const app = await NestFactory.createApplicationContext(
  // One group, as the RSS figures were measured (the library's default is partitioned).
  { imports: [ImdgoModule.forRoot({ members: [id], nodeId: id, partitions: 1 })] },
  { logger: ['error', 'warn'] },
);
const store = app.get(ImdgoStore);
const value = 'v'.repeat(args.valueBytes);
const width = String(args.writes - 1).length;
// Waits out the first election, so that the baseline has a running node.
await store.set('warm-up', value);

const before = settledMemory();
let next = 0;
const worker = async (): Promise<void> => {
  while (next < args.writes) {
    const i = next++;
    // Keys are made as they are written, so none of them is in the baseline.
    await store.set(args.distinctKeys ? `key:${String(i).padStart(width, '0')}` : 'key', value);
  }
};
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const after = await quietMemory();
const growth: MemoryGrowth = {
  heapBytes: after.heapUsed - before.heapUsed,
  arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
};
await app.close();
process.send!(growth, undefined, undefined, () => process.exit(0));

/** Memory once it stops changing by more than 1% a second: snapshots run in the background after writes. */
async function quietMemory(): Promise<NodeJS.MemoryUsage> {
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  let last = settledMemory();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = settledMemory();
    if (Math.abs(total(now) - total(last)) < 0.01 * total(last) || Date.now() > deadline) return now;
    last = now;
  }
}

function total(memory: NodeJS.MemoryUsage): number {
  return memory.heapUsed + memory.arrayBuffers;
}

function settledMemory(): NodeJS.MemoryUsage {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage();
}
