import type { Dataset } from './dataset.ts';

/** The two calls every system under test offers; each suite adapts its client to it. */
export interface KvClient {
  put(key: string, value: string): Promise<unknown>;
  /** Resolves with undefined or null when the key is absent. */
  get(key: string): Promise<unknown>;
}

export type Workload = 'write' | 'read' | 'mix' | 'local-peek' | 'local-get';

/** Share of reads in the `mix` workload. */
const MIX_READS = 0.9;

/**
 * One operation of a workload over random keys of the dataset. Reads of a loaded key that come back empty
 * throw: a fast wrong answer must not pass for a fast right one.
 */
export function operation(workload: Workload, client: KvClient, data: Dataset): () => Promise<unknown> {
  const read = async (): Promise<unknown> => {
    const key = data.randomKey();
    const value = await client.get(key);
    if (value === undefined || value === null) throw new Error(`key ${key} not found`);
    return value;
  };
  const write = (): Promise<unknown> => client.put(data.randomKey(), data.value);
  switch (workload) {
    case 'write':
      return write;
    case 'mix':
      return () => (Math.random() < MIX_READS ? read() : write());
    default:
      return read;
  }
}

/** Writes every key of the dataset once, `concurrency` at a time, so reads find what they look for. */
export async function preload(client: KvClient, data: Dataset, concurrency = 64): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < data.keys.length) await client.put(data.keys[next++]!, data.value);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
