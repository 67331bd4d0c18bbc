import { CompactedError, type WatchEvent } from 'imdgo';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_PARTITION_HISTORY } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import { startCluster, type TestCluster } from './support/cluster.ts';

/** Split over 4 partitions: each keeps the minimum, MIN_PARTITION_HISTORY. */
const HISTORY = 8;

describe('watch across partitions', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(3, { partitions: 4, replicas: 2, watchHistorySize: HISTORY });
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
  }, 120_000);

  afterAll(() => cluster.closeAll());

  it('resumes from a cursor with no repeat and no gap, and reports a compacted partition', async () => {
    const map = cluster.nodes[0]!.store.map<number>('w');
    const watcher = cluster.nodes[2]!.store.map<number>('w');
    // Two tags, two partitions (checked below): the cursor must carry a revision for each.
    const [a, b] = ['{a}', '{b}'].map((tag) => (i: number) => `${tag}:${i}`) as [
      (i: number) => string,
      (i: number) => string,
    ];
    expect(map.partitionOf(a(0))).not.toBe(map.partitionOf(b(0)));
    const first = firstValueFrom(watcher.watch('*').pipe(take(2), toArray()));
    await map.set(a(0), 0);
    await map.set(b(0), 0);
    const cursor = (await first)[1]!.cursor!;

    const next = [a(1), b(1), a(2), b(2)];
    for (const [i, key] of next.entries()) await map.set(key, i);
    const resumed: WatchEvent<number>[] = await firstValueFrom(
      watcher.watch('*', { fromRevision: cursor }).pipe(take(next.length), toArray()),
    );
    expect(resumed.map((event) => event.key).sort()).toEqual([...next].sort());

    // More changes of partition {a} than it retains (it trims once a quarter over its size): resuming from the old cursor finds them compacted.
    for (let batch = 0; batch * 100 < MIN_PARTITION_HISTORY * 1.5; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => map.set(a(3 + batch * 100 + i), i)));
    }
    await expect(firstValueFrom(watcher.watch('*', { fromRevision: cursor }))).rejects.toThrow(
      CompactedError,
    );
  });
});
