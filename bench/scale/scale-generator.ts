/**
 * The scale benchmark's load generator, in its own process outside every node's cgroup: drives the demo
 * REST API of all the cluster's nodes with node:http (keep-alive, as the wire table does), each operation on the next node in
 * turn, so writes and reads enter through every node, over random keys of the dataset. Answers the
 * orchestrator over IPC.
 */
import { makeDataset } from '../load/dataset.ts';
import { operation, preload, type KvClient } from '../load/kv-client.ts';
import { runClosedLoop } from '../load/closed-loop.ts';
import { httpCall } from '../wire/http-call.ts';
import { imdgoHttpKv } from '../wire/http-kv.ts';
import { spreadKv } from './spread-kv.ts';
import type { ScaleGeneratorArgs, ScaleGeneratorRequest } from './scale-generator-protocol.ts';

const args = JSON.parse(process.argv[2]!) as ScaleGeneratorArgs;
process.on('disconnect', () => process.exit(1));
const data = makeDataset(args.keys, args.valueBytes);
const call = httpCall('http');

async function handle(request: ScaleGeneratorRequest): Promise<unknown> {
  const kv = spreadKv(request.urls.map((url) => imdgoHttpKv(call, url, false)));
  switch (request.kind) {
    case 'preload':
      await preload(retrying(kv), data, request.concurrency);
      return null;
    case 'run':
      return runClosedLoop(operation(request.workload, kv, data), request.concurrency, request.window);
  }
}

/** Attempts per write while loading. */
const PRELOAD_ATTEMPTS = 5;

/**
 * Loading writes each key once, and one lost call would abort it: a write is retried (setting the same
 * value again is harmless) when, say, a node closes a keep-alive connection the moment it is reused.
 */
function retrying(kv: KvClient): KvClient {
  return {
    get: (key) => kv.get(key),
    async put(key, value) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await kv.put(key, value);
        } catch (error) {
          if (attempt === PRELOAD_ATTEMPTS) throw error;
        }
      }
    },
  };
}

process.on('message', (message: { id: number; request: ScaleGeneratorRequest }) => {
  handle(message.request).then(
    (result) => process.send!({ type: 'reply', id: message.id, ok: true, result }),
    (error: unknown) =>
      process.send!({
        type: 'reply',
        id: message.id,
        ok: false,
        // fetch's own message ("fetch failed") hides the reason in its cause.
        error:
          error instanceof Error
            ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`
            : String(error),
      }),
  );
});
process.send!({ type: 'ready' });
