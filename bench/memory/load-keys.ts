import type { Dataset } from '../load/dataset.ts';
import type { KvClient } from '../load/kv-client.ts';

/** A put that failed (a timeout on a loaded machine) is sent again, up to this many times in all. */
const PUT_ATTEMPTS = 5;

/** Every key of `data` put once, `concurrency` at a time; a failed put is sent again (puts are idempotent). */
export async function loadKeys(client: KvClient, data: Dataset, concurrency: number): Promise<void> {
  let next = 0;
  const put = async (key: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.put(key, data.value);
        return;
      } catch (error) {
        if (attempt === PUT_ATTEMPTS) throw error;
      }
    }
  };
  const worker = async (): Promise<void> => {
    while (next < data.keys.length) await put(data.keys[next++]!);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
