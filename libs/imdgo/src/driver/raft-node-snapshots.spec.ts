import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { CompactedError } from '../errors.ts';
import { ChangeFeed } from '../nest/change-feed.ts';
import { ImdgoMap } from '../nest/imdgo-map.ts';
import type { ImdgoRuntime } from '../nest/imdgo-runtime.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { FileStorage } from '../storage/file-storage.ts';
import { NodeCluster, until } from './testing/node-cluster.ts';

const set = (key: string, value: unknown) => ({ op: 'set', map: '', key, value }) as const;

/** The error a subscription fails with at once, or null when it is live. */
function errorOnSubscribe(source: Observable<unknown>): unknown {
  let failure: unknown = null;
  source.subscribe({ error: (error: unknown) => (failure = error) }).unsubscribe();
  return failure;
}

/** The default map of a store whose runtime is just a change feed. */
function storeOver(feed: ChangeFeed): ImdgoMap {
  const runtime = { changes$: feed.live$, changesFrom: (from: number) => feed.from(from) };
  return new ImdgoMap(runtime as unknown as ImdgoRuntime, '');
}

describe('RaftNode change feed across snapshots', () => {
  let cluster: NodeCluster;
  const dirs: string[] = [];

  afterEach(async () => {
    await cluster.stopAll();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('tells watchers and change subscribers that an installed snapshot skipped changes', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const feeds = new Map<string, ChangeFeed>();
    const leader = await cluster.startAll((id) => {
      const feed = new ChangeFeed(1000);
      feeds.set(id, feed);
      return {
        snapshotThreshold: 20,
        snapshotTrailingEntries: 0,
        onChange: (change) => feed.publish(change),
        onReset: (revision) => feed.reset(revision),
      };
    });
    const behind = [...cluster.nodes.values()].find((node) => node !== leader)!;
    const store = storeOver(feeds.get(behind.id)!);
    await leader.write(set('n', 'before'));
    await until(() => behind.machine.get('', 'n') !== undefined, 'the write replicated');
    const seenBefore = behind.machine.appliedIndex;

    const liveWatch = firstValueFrom(store.watch('n*').pipe(toArray())).catch((error: Error) => error);
    const changes: ChangeEvent[] = [];
    store.changes$.subscribe((change) => changes.push(change));
    cluster.isolate(behind.id);
    for (let i = 0; i < 60; i++) await leader.write(set(`n${i}`, i));
    cluster.hub.heal();
    await until(() => behind.machine.get('', 'n59') !== undefined, 'the follower catches up');

    const reset = changes.find((change) => change.type === 'reset');
    expect(reset).toBeDefined();
    expect(reset!.revision).toBeGreaterThan(seenBefore + 1);
    // Every change is either emitted or covered by the reset: none vanishes silently.
    expect(changes.filter((c) => c.type !== 'reset').every((c) => c.revision > reset!.revision)).toBe(true);
    expect(await liveWatch).toBeInstanceOf(CompactedError);
    expect(errorOnSubscribe(store.watch('n*', { fromRevision: seenBefore + 1 }))).toBeInstanceOf(
      CompactedError,
    );
  });

  it('compacts the change history to the snapshot a dataDir node restarts from', async () => {
    cluster = new NodeCluster(['a:1']);
    const dir = await mkdtemp(join(tmpdir(), 'imdgo-restart-'));
    dirs.push(dir);
    const options = { snapshotThreshold: 20, incarnation: 'a-disk' };
    const first = await cluster.start('a:1', { ...options, storage: new FileStorage({ dir }) });
    await until(() => first.isLeader(), 'a leads');
    for (let i = 0; i < 30; i++) await first.write(set(`k${i}`, i));
    const snapshotAt = () =>
      (first as unknown as { snapshots: { latest: { meta: { index: number } } | null } }).snapshots.latest
        ?.meta.index ?? 0;
    await until(() => snapshotAt() >= 20, 'a snapshot');
    await cluster.stopAll();

    const feed = new ChangeFeed(1000);
    const restarted = await cluster.start('a:1', {
      ...options,
      storage: new FileStorage({ dir }),
      onChange: (change) => feed.publish(change),
      onReset: (revision) => feed.reset(revision),
    });
    await until(() => restarted.machine.get('', 'k29') !== undefined, 'the state restored');
    expect(errorOnSubscribe(feed.from(1))).toBeInstanceOf(CompactedError);
    expect(errorOnSubscribe(feed.from(snapshotAt() + 1))).toBeNull();
  });
});
