/**
 * The external load generator of the wire table, in its own process: drives each system's HTTP API with the
 * same HTTP client (node:http or fetch, keep-alive), and answers the orchestrator over IPC. Its CPU is the client side.
 */
import { makeDataset } from '../load/dataset.ts';
import { operation, preload } from '../load/kv-client.ts';
import { runLoad } from '../load/run-load.ts';
import { ownCpuUs } from '../load/cpu.ts';
import { httpCall } from './http-call.ts';
import { httpKv } from './http-kv.ts';
import type { GeneratorArgs, GeneratorRequest } from './generator-protocol.ts';

const args = JSON.parse(process.argv[2]!) as GeneratorArgs;
process.on('disconnect', () => process.exit(1));
const data = makeDataset(args.keys, args.valueBytes);
const call = httpCall(args.client);

async function handle(request: GeneratorRequest): Promise<unknown> {
  switch (request.kind) {
    case 'cpu':
      return ownCpuUs();
    case 'preload':
      await preload(httpKv(call, request.target, request.baseUrl, false), data);
      return null;
    case 'run': {
      const kv = httpKv(call, request.target, request.baseUrl, request.spec.workload === 'local-get');
      return runLoad(operation(request.spec.workload, kv, data), request.spec, request.window);
    }
  }
}

process.on('message', (message: { id: number; request: GeneratorRequest }) => {
  handle(message.request).then(
    (result) => process.send!({ type: 'reply', id: message.id, ok: true, result }),
    (error: unknown) =>
      process.send!({
        type: 'reply',
        id: message.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});
process.send!({ type: 'ready' });
