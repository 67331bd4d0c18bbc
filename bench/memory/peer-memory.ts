import { ensureInstalled } from '../../scripts/apt.ts';
import { etcdClient, etcdKv } from '../etcd/etcd-client.ts';
import { EtcdCluster } from '../etcd/etcd-cluster.ts';
import { ImdgoCluster } from '../imdgo/imdgo-cluster.ts';
import type { NodeMemory } from '../imdgo/protocol.ts';
import { makeDataset, type Dataset } from '../load/dataset.ts';
import { RedisServer } from '../redis/redis-server.ts';
import type { MemoryResult } from '../results.ts';
import { loadKeys } from './load-keys.ts';
import { processRssBytes } from './process-rss.ts';

export interface PeerMemoryOptions {
  readonly keys: number;
  readonly valueBytes: number;
  /** Seconds each system rests after the load before RSS is read a second time; 0: no second reading. */
  readonly restSeconds: number;
  /** Also etcd and Redis; otherwise imdgo alone. */
  readonly compare: boolean;
  readonly verbose: boolean;
}

/** Writes in flight while loading; enough to keep each system busy on a shared machine. */
const LOAD_CONCURRENCY = 256;
const LOAD_TIMEOUT_MS = 1_800_000;
const REPLY_TIMEOUT_MS = 60_000;
/** How long memory may keep moving after the load (a background snapshot) before it is read anyway. */
const SETTLE_LIMIT_MS = 60_000;
const REDIS_PIPELINE = 1_000;

/**
 * Memory at `keys` distinct keys of `valueBytes` each, every system loaded the same way from empty:
 * imdgo (3 nodes, loaded through the leader; measured on a follower, which holds the same state and runs no
 * load), etcd (3 members on tmpfs, a follower measured likewise) and Redis (one server, no persistence).
 * Each system is measured alone, the others stopped. RSS is read twice: once the load's memory has settled,
 * and again after `restSeconds` with no load, since a garbage-collected runtime returns freed pages only when
 * it rests (V8's memory reducer runs about 100 s after the last full collection; Go's scavenger, jemalloc's
 * purging likewise). Nothing runs a collection in the rest.
 */
export async function measurePeerMemory(options: PeerMemoryOptions): Promise<MemoryResult[]> {
  const measures = options.compare ? [measureImdgo, measureEtcd, measureRedis] : [measureImdgo];
  const results: MemoryResult[] = [];
  for (const measure of measures) {
    // One system failing to load (a timeout on a loaded machine) loses its row, not the others'.
    try {
      results.push(await measure(options));
    } catch (error) {
      console.error(`memory: ${measure.name} failed: ${(error as Error).message}`);
    }
  }
  return results;
}

async function measureImdgo(options: PeerMemoryOptions): Promise<MemoryResult> {
  console.log(`\nmemory: imdgo, loading ${options.keys.toLocaleString('en-US')} keys...`);
  const cluster = await ImdgoCluster.start({
    size: 3,
    keys: 1,
    valueBytes: options.valueBytes,
    execArgv: ['--expose-gc', '--max-old-space-size=16384'],
    dataDir: null,
    faultInjection: false,
    tickMs: null,
    verbose: options.verbose,
  });
  try {
    const leader = await cluster.leader();
    const follower = await cluster.follower();
    const before = await follower.request({ kind: 'memory' }, REPLY_TIMEOUT_MS);
    const fill = { count: options.keys, valueBytes: options.valueBytes, concurrency: LOAD_CONCURRENCY };
    await leader.request({ kind: 'fill', ...fill }, LOAD_TIMEOUT_MS);
    await cluster.waitHealthy(REPLY_TIMEOUT_MS);
    const after = await quiet(() => follower.request({ kind: 'memory' }, REPLY_TIMEOUT_MS));
    const leaderAfter = await leader.request({ kind: 'memory' }, REPLY_TIMEOUT_MS);
    const atRest = await rest(options, () => processRssBytes(follower.pid));
    // Last: it changes what it measures.
    const reduced = await follower.request({ kind: 'memory', reduce: true }, REPLY_TIMEOUT_MS);
    return {
      ...base('imdgo', options),
      node: 'follower',
      rssBytes: after.rssBytes,
      rssGrowthBytes: after.rssBytes - before.rssBytes,
      ...atRest,
      heapGrowthBytes: after.heapUsedBytes - before.heapUsedBytes,
      externalGrowthBytes: after.externalBytes - before.externalBytes,
      arrayBufferGrowthBytes: after.arrayBufferBytes - before.arrayBufferBytes,
      ratioToRaw:
        (after.heapUsedBytes - before.heapUsedBytes + after.externalBytes - before.externalBytes) /
        rawBytes(options),
      leaderRssBytes: leaderAfter.rssBytes,
      breakdown: {
        heapCommittedBytes: after.heapCommittedBytes,
        heapUsedBytes: after.heapUsedBytes,
        newSpaceBytes: after.newSpaceBytes,
        externalBytes: after.externalBytes,
        mallocArenaBytes: after.mallocArenaBytes,
        fileBackedBytes: after.fileBackedBytes,
      },
      rssAfterReducingGcBytes: reduced.rssBytes,
    };
  } finally {
    await cluster.stop();
  }
}

async function measureEtcd(options: PeerMemoryOptions): Promise<MemoryResult> {
  console.log(`memory: etcd, loading ${options.keys.toLocaleString('en-US')} keys...`);
  const cluster = await EtcdCluster.start({
    binary: ensureInstalled('etcd', 'etcd-server'),
    size: 3,
    dataParent: '/dev/shm',
    namespaces: false,
    verbose: options.verbose,
  });
  try {
    const leader = await cluster.leader();
    const follower = await cluster.follower();
    const rss = () => processRssBytes(follower.process.pid!);
    const before = rss();
    const client = etcdClient(leader.clientUrl);
    try {
      await loadKeys(etcdKv(client), dataset(options), LOAD_CONCURRENCY);
    } finally {
      client.close();
    }
    await cluster.waitHealthy(REPLY_TIMEOUT_MS);
    const after = await quiet(async () => rss());
    const atRest = await rest(options, rss);
    return {
      ...base('etcd', options),
      node: 'follower',
      rssBytes: after,
      rssGrowthBytes: after - before,
      ...atRest,
    };
  } finally {
    await cluster.stop();
  }
}

async function measureRedis(options: PeerMemoryOptions): Promise<MemoryResult> {
  console.log(`memory: Redis, loading ${options.keys.toLocaleString('en-US')} keys...`);
  const server = await RedisServer.start(ensureInstalled('redis-server', 'redis-server'), options.verbose);
  const redis = server.client();
  try {
    const before = server.rssBytes();
    const data = dataset(options);
    for (let from = 0; from < data.keys.length; from += REDIS_PIPELINE) {
      const pipeline = redis.pipeline();
      for (const key of data.keys.slice(from, from + REDIS_PIPELINE)) pipeline.set(key, data.value);
      await pipeline.exec();
    }
    const after = await quiet(async () => server.rssBytes());
    const atRest = await rest(options, () => server.rssBytes());
    return {
      ...base('redis', options),
      node: 'single',
      rssBytes: after,
      rssGrowthBytes: after - before,
      ...atRest,
    };
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

function dataset(options: PeerMemoryOptions): Dataset {
  return makeDataset(options.keys, options.valueBytes);
}

/** The dataset's keys are fixed-width: every key has as many bytes as the last one. */
function rawBytes(options: PeerMemoryOptions): number {
  return options.keys * (`key:${String(options.keys - 1)}`.length + options.valueBytes);
}

function base(system: MemoryResult['system'], options: PeerMemoryOptions) {
  return { system, keys: options.keys, rawBytes: rawBytes(options) };
}

/** RSS after `restSeconds` of nothing (no load, no request, no forced collection), or no reading. */
async function rest(
  options: PeerMemoryOptions,
  rss: () => number,
): Promise<{ restSeconds: number; rssAtRestBytes?: number }> {
  if (options.restSeconds === 0) return { restSeconds: 0 };
  console.log(`memory: resting ${options.restSeconds} s...`);
  await new Promise((resolve) => setTimeout(resolve, options.restSeconds * 1_000));
  return { restSeconds: options.restSeconds, rssAtRestBytes: rss() };
}

/** The reading once it moves by less than 1% in a second (background snapshots, compaction), or at the limit. */
async function quiet<T extends NodeMemory | number>(read: () => Promise<T>): Promise<T> {
  const size = (reading: T): number =>
    typeof reading === 'number' ? reading : reading.heapUsedBytes + reading.externalBytes;
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  let last = await read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = await read();
    if (Math.abs(size(now) - size(last)) < 0.01 * size(last) || Date.now() > deadline) return now;
    last = now;
  }
}
