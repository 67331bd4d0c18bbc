import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isRunning, terminate, track } from '../../scripts/child-processes.ts';
import type { MemoryResult } from '../results.ts';
import type { MemoryArgs, MemoryGrowth } from './memory-node.ts';

const ENTRY = fileURLToPath(new URL('./memory-node.ts', import.meta.url));
const TIMEOUT_MS = 600_000;

/**
 * Bytes per key at `keys` keys: the growth of one node loaded with that many distinct keys, against the
 * raw key and value bytes; then the same number of writes to a single key, to tell the log's share.
 */
export async function measureMemory(keys: number, valueBytes: number): Promise<MemoryResult> {
  console.log(`\nmemory: loading ${keys.toLocaleString('en-US')} keys into one node...`);
  const loaded = await grow({ writes: keys, valueBytes, distinctKeys: true });
  console.log(`memory: ${keys.toLocaleString('en-US')} writes to one key (the log alone)...`);
  const logOnly = await grow({ writes: keys, valueBytes, distinctKeys: false });
  const keyBytes = `key:${String(keys - 1)}`.length;
  const rawBytesPerKey = keyBytes + valueBytes;
  const totalBytesPerKey = (loaded.heapBytes + loaded.arrayBufferBytes) / keys;
  return {
    system: 'imdgo',
    keys,
    rawBytesPerKey,
    heapBytesPerKey: loaded.heapBytes / keys,
    totalBytesPerKey,
    ratioToRaw: totalBytesPerKey / rawBytesPerKey,
    logBytesPerWrite: (logOnly.heapBytes + logOnly.arrayBufferBytes) / keys,
  };
}

/** One fresh process per measurement, with room for the heap and a callable gc(). */
async function grow(args: MemoryArgs): Promise<MemoryGrowth> {
  const child = track(
    fork(ENTRY, [JSON.stringify(args)], {
      execPath: process.execPath,
      execArgv: ['--expose-gc', '--max-old-space-size=16384'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    return await new Promise<MemoryGrowth>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the memory measurement timed out')), TIMEOUT_MS);
      child.once('message', (growth: MemoryGrowth) => {
        clearTimeout(timer);
        resolve(growth);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the memory process exited (${signal ?? `code ${code}`})`));
      });
    });
  } finally {
    if (isRunning(child)) await terminate(child);
  }
}
