/**
 * Bytes allocated per write, and where: a 3-node cluster inside this process (the built library, so
 * `npm run build` first), closed-loop `ImdgoStore.set` at a concurrency through the leader or a follower,
 * under V8's sampling heap profiler with collected objects kept in the samples. All three nodes allocate
 * in this one heap, so the figure is the whole cluster's per write, as the young-generation collections
 * of the benchmark's three processes see it together.
 *
 * `--retained`: instead, what of it is still alive after the writes and a full collection (what young-generation
 * collections copy and promote, and so what their pauses grow with).
 *
 *   node bench/imdgo/write-allocation.ts [--target leader|follower] [--writes N] [--concurrency N] [--top N]
 *     [--retained]
 */
import 'reflect-metadata';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { startImdgoCluster, type ImdgoTestNode } from 'imdgo/testing';
import { makeDataset } from '../load/dataset.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'follower' },
    writes: { type: 'string', default: '60000' },
    concurrency: { type: 'string', default: '64' },
    top: { type: 'string', default: '30' },
    interval: { type: 'string', default: '512' },
    retained: { type: 'boolean', default: false },
  },
});
const target = values.target;
if (target !== 'leader' && target !== 'follower') throw new Error('--target is leader or follower');
const writes = Number(values.writes);
const concurrency = Number(values.concurrency);

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const cluster = await startImdgoCluster(3, { imdgo: { partitions: 1 } });
try {
  const leader = await cluster.leader();
  const node: ImdgoTestNode = target === 'leader' ? leader : cluster.nodes.find((n) => n !== leader)!;
  const data = makeDataset(10_000, 100);
  const run = async (count: number): Promise<void> => {
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < count) {
        issued++;
        await node.store.set(data.randomKey(), data.value);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  // Warm-up: optimized code, and every key written once so the table's growth is not counted.
  await run(Math.max(20_000, writes / 2));

  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(values.interval),
    includeObjectsCollectedByMajorGC: !values.retained,
    includeObjectsCollectedByMinorGC: !values.retained,
  });
  await run(writes);
  if (values.retained) await session.post('HeapProfiler.collectGarbage');
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
    profile: { head: ProfileNode };
  };
  session.disconnect();

  const bySite = new Map<string, number>();
  let total = 0;
  const name = ({ callFrame: { functionName, url, lineNumber } }: ProfileNode): string =>
    `${functionName || '(anonymous)'} ${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}`;
  const walk = (n: ProfileNode, parent: ProfileNode | null): void => {
    if (n.selfSize > 0) {
      // A built-in (Map#set, new Uint8Array) says little alone: its caller is named beside it.
      const site = n.callFrame.url === '' && parent ? `${name(n)} < ${name(parent)}` : name(n);
      bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const child of n.children) walk(child, n);
  };
  walk(profile.head, null);
  console.log(
    `${target}: ${writes} writes at concurrency ${concurrency}: ${(total / writes).toFixed(0)} B/write`,
  );
  const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [site, bytes] of top) console.log(`${(bytes / writes).toFixed(0).padStart(7)} B  ${site}`);
} finally {
  await cluster.close();
}
