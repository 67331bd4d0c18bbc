/**
 * One imdgo node of the benchmark cluster, in its own process: a Nest application context with
 * ImdgoModule, which runs the load it is asked for through the injected ImdgoStore (the embedded use)
 * and answers the orchestrator over IPC. Argument: a JSON NodeArgs.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { getHeapSpaceStatistics } from 'node:v8';
import { ImdgoCluster, ImdgoModule, ImdgoStore } from 'imdgo';
import { ImdgoFaultInjector } from 'imdgo/testing';
import { BackgroundLoad } from '../load/background-load.ts';
import { runLoad } from '../load/run-load.ts';
import { makeDataset } from '../load/dataset.ts';
import { operation, preload, type KvClient } from '../load/kv-client.ts';
import { runTightLoop } from '../load/tight-loop.ts';
import { loadKeys } from '../memory/load-keys.ts';
import { residentBreakdown } from '../memory/resident-breakdown.ts';
import { NodeVitals } from './node-vitals.ts';
import type { NodeArgs, NodeMemory, NodeMessage, NodeReplies, NodeRequest, NodeStatus } from './protocol.ts';

const args = JSON.parse(process.argv[2]!) as NodeArgs;
// Without the orchestrator nobody would stop this process.
process.on('disconnect', () => process.exit(1));

const app = await NestFactory.createApplicationContext(
  {
    imports: [
      ImdgoModule.forRoot({
        members: [...args.members],
        nodeId: args.nodeId,
        // One group, as the figures against etcd were measured (the library's default is partitioned).
        partitions: 1,
        ...(args.dataDir !== null && { dataDir: args.dataDir }),
        faultInjection: args.faultInjection,
        ...(args.tickMs !== null && { tickMs: args.tickMs }),
      }),
    ],
  },
  { logger: ['error', 'warn'] },
);
const store = app.get(ImdgoStore);
const cluster = app.get(ImdgoCluster);
const data = makeDataset(args.keys, args.valueBytes);
const linearizable: KvClient = { put: (key, value) => store.set(key, value), get: (key) => store.get(key) };
const local: KvClient = {
  put: (key, value) => store.set(key, value),
  get: (key) => store.get(key, { consistency: 'local' }),
};
let background: BackgroundLoad | null = null;
const vitals = new NodeVitals(cluster);

async function handle(request: NodeRequest): Promise<NodeReplies[NodeRequest['kind']]> {
  switch (request.kind) {
    case 'status': {
      const status = cluster.localStatus();
      const answer: NodeStatus = {
        role: status.role,
        leader: status.leader,
        term: status.term,
        commitIndex: status.commitIndex,
        appliedIndex: status.appliedIndex,
        voters: status.members.filter((member) => member.voter).map((member) => member.id),
        rssBytes: process.memoryUsage.rss(),
      };
      return answer;
    }
    case 'cpu': {
      const usage = process.cpuUsage();
      return usage.user + usage.system;
    }
    case 'preload':
      await preload(linearizable, data);
      return null;
    case 'run': {
      const window = { warmupMs: request.warmupMs, durationMs: request.durationMs };
      if (request.workload === 'local-peek') return runTightLoop(() => store.peek(data.randomKey()), window);
      const client = request.workload === 'local-get' ? local : linearizable;
      return runLoad(operation(request.workload, client, data), request, window);
    }
    case 'background-start':
      background = new BackgroundLoad(() => operation('write', linearizable, data), request.concurrency);
      return null;
    case 'background-first-success':
      if (!background) throw new Error('no background load is running');
      return background.firstSuccessesAfter(request.after, request.timeoutMs);
    case 'background-stop': {
      if (!background) throw new Error('no background load is running');
      const stopped = await background.stop();
      background = null;
      return stopped;
    }
    case 'block':
      app.get(ImdgoFaultInjector).block(request.peers);
      return null;
    case 'heal':
      app.get(ImdgoFaultInjector).heal();
      return null;
    case 'fill': {
      await loadKeys(linearizable, makeDataset(request.count, request.valueBytes), request.concurrency);
      return null;
    }
    case 'memory':
      return collectedMemory(request.reduce ?? false);
    case 'vitals':
      return vitals.since(request.since);
    case 'stop':
      vitals.stop();
      await app.close();
      return null;
  }
}

function collectedMemory(reduce: boolean): NodeMemory {
  const gc = globalThis.gc;
  if (!gc) throw new Error('memory is measured in a node started with --expose-gc');
  // Several passes: a full collection can leave garbage that only the next one frees (weak references).
  for (let i = 0; i < 3; i++) gc();
  if (reduce) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const usage = process.memoryUsage();
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return {
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
    arrayBufferBytes: usage.arrayBuffers,
    heapCommittedBytes: usage.heapTotal,
    newSpaceBytes: newSpace?.space_size ?? 0,
    ...residentBreakdown(),
  };
}

function reply(message: NodeMessage, then?: () => void): void {
  process.send!(message, undefined, undefined, then);
}

process.on('message', (message: { id: number; request: NodeRequest }) => {
  const { id, request } = message;
  handle(request).then(
    (result) => reply({ type: 'reply', id, ok: true, result }, request.kind === 'stop' ? exit : undefined),
    (error: unknown) =>
      reply({ type: 'reply', id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
reply({ type: 'ready' });

function exit(): void {
  // A normal exit, so that --cpu-prof writes its profile.
  process.exit(0);
}
