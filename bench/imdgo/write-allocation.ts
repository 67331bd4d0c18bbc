/**
 * Bytes allocated per write, and where: a 3-node cluster inside this process (the built library, so
 * `npm run build` first), closed-loop `ImdgoStore.set` at a concurrency through the leader or a follower,
 * under V8's sampling heap profiler with collected objects kept in the samples. All three nodes allocate
 * in this one heap, so the figure is the whole cluster's per write, as the young-generation collections
 * of the benchmark's three processes see it together.
 *
 * `--retained`: instead, what of it is still alive after the writes and a full collection.
 *
 * `--survived`: instead, what young-generation collections (scavenges) copy, which their pauses grow with:
 * V8's GC profiler gives each scavenge's pause and the bytes it copied or promoted (the young generation's
 * use before it minus what the heap holds after it beyond the old generation's use before it); the
 * sampling profiler, keeping objects a full collection took but dropping those a scavenge took, names the
 * allocation sites of what lived through at least one scavenge (`--depth` callers beside each site), and
 * of what V8 put in the old generation directly, which no scavenge copies: the new tables of a long-lived
 * Map, objects of sites V8 pretenures. `write-holders.ts` says which structures hold the survivors.
 *
 *   node bench/imdgo/write-allocation.ts [--target leader|follower] [--writes N] [--concurrency N] [--top N]
 *     [--retained | --survived [--depth N]]
 */
import 'reflect-metadata';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startInProcessWrites } from './in-process-writes.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'follower' },
    writes: { type: 'string', default: '60000' },
    concurrency: { type: 'string', default: '64' },
    top: { type: 'string', default: '30' },
    interval: { type: 'string', default: '512' },
    retained: { type: 'boolean', default: false },
    survived: { type: 'boolean', default: false },
    depth: { type: 'string', default: '2' },
  },
});
const target = values.target;
if (target !== 'leader' && target !== 'follower') throw new Error('--target is leader or follower');
const writes = Number(values.writes);
const concurrency = Number(values.concurrency);
const depth = values.survived ? Number(values.depth) : 1;

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const { cluster, run } = await startInProcessWrites(target, concurrency);
try {
  // Warm-up: optimized code, and every key written once so the table's growth is not counted.
  await run(Math.max(20_000, writes / 2));

  if (values.survived) {
    // Pauses measured without the sampling profiler, which slows every collection.
    const gcProfiler = new GCProfiler();
    gcProfiler.start();
    await run(writes);
    printScavenges(gcProfiler.stop()?.statistics ?? []);
    // A full collection also frees the young generation, and the samples keep what it frees as if it had
    // lived through a scavenge: start with room in the old generation, so that none runs (counted below).
    // Not the inspector's, which shrinks the heap's limits to what is alive.
    collect('major');
  }
  // `--survived --top 0`: the collections' figures alone.
  if (!values.survived || Number(values.top) > 0) await sampleSites(run);
} finally {
  await cluster.close();
}

function collect(type: 'minor' | 'major'): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: string; execution: 'sync' }) => void;
  gc({ type, execution: 'sync' });
}

type GcStatistics = NonNullable<ReturnType<GCProfiler['stop']>>['statistics'];

function printScavenges(statistics: GcStatistics): void {
  const used = (heap: GcStatistics[number]['beforeGC'], spaces: readonly string[]): number =>
    heap.heapSpaceStatistics
      .filter((space) => spaces.includes(space.spaceName))
      .reduce((sum, space) => sum + space.spaceUsedSize, 0);
  const young = ['new_space', 'new_large_object_space'];
  const scavenges = statistics.filter((gc) => gc.gcType === 'Scavenge');
  let survived = 0;
  let promoted = 0;
  const pauses: number[] = [];
  for (const { beforeGC, afterGC, cost } of scavenges) {
    const oldBefore = beforeGC.heapStatistics.usedHeapSize - used(beforeGC, young);
    survived += afterGC.heapStatistics.usedHeapSize - oldBefore;
    promoted += afterGC.heapStatistics.usedHeapSize - used(afterGC, young) - oldBefore;
    pauses.push(cost / 1000);
  }
  const mean = pauses.reduce((a, b) => a + b, 0) / Math.max(1, pauses.length);
  const others = statistics.filter((gc) => gc.gcType === 'MarkSweepCompact').length;
  console.log(
    `${scavenges.length} scavenges (and ${others} full collections): survived ${(survived / writes).toFixed(0)} ` +
      `B/write, of it promoted ${(promoted / writes).toFixed(0)}; pause mean ${mean.toFixed(1)} ms, ` +
      `max ${Math.max(0, ...pauses).toFixed(1)} ms`,
  );
}

/** Bytes per write by allocation site, under V8's sampling heap profiler over `writes` more writes. */
async function sampleSites(writeMore: (count: number) => Promise<void>): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(values.interval),
    includeObjectsCollectedByMajorGC: !values.retained,
    includeObjectsCollectedByMinorGC: !values.retained && !values.survived,
  });
  const gcProfiler = new GCProfiler();
  gcProfiler.start();
  await writeMore(writes);
  const fullCollections = (gcProfiler.stop()?.statistics ?? []).filter(
    (gc) => gc.gcType === 'MarkSweepCompact',
  );
  if (values.retained) await session.post('HeapProfiler.collectGarbage');
  // What is young and still alive at the end would live through the next scavenge: run it, so what dies
  // before it leaves the samples.
  if (values.survived) collect('minor');
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
    profile: { head: ProfileNode };
  };
  session.disconnect();

  const bySite = new Map<string, number>();
  let total = 0;
  const name = ({ callFrame: { functionName, url, lineNumber } }: ProfileNode): string =>
    `${functionName || '(anonymous)'} ${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}`;
  const walk = (n: ProfileNode, callers: readonly ProfileNode[]): void => {
    if (n.selfSize > 0) {
      // A built-in (Map#set, new Uint8Array) says little alone: its caller is named beside it.
      const shown = n.callFrame.url === '' ? depth + 1 : depth;
      const site = [n, ...callers.slice(0, shown - 1)].map(name).join(' < ');
      bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const child of n.children) walk(child, [n, ...callers]);
  };
  walk(profile.head, []);
  console.log(
    `${target}: ${writes} writes at concurrency ${concurrency}: ${(total / writes).toFixed(0)} B/write`,
  );
  if (values.survived)
    console.log(
      `by allocation site of what lived through a scavenge (${fullCollections.length} full collections):`,
    );
  const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [site, bytes] of top) console.log(`${(bytes / writes).toFixed(0).padStart(7)} B  ${site}`);
}
