import { Injectable } from '@nestjs/common';
import { firstValueFrom, take, toArray } from 'rxjs';
import { CompactedError, OnKeyChange, type ChangeEvent } from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

@Injectable()
class UserListener {
  readonly seen: string[] = [];
  readonly expired: string[] = [];

  @OnKeyChange('user:*')
  onUser(change: ChangeEvent): void {
    this.seen.push(`${change.type} ${change.key} @${change.revision}`);
  }

  @OnKeyChange({ map: 'sessions', type: 'expire' })
  onSessionExpired(change: ChangeEvent): void {
    this.expired.push(change.key);
  }

  @OnKeyChange('user:*')
  broken(): void {
    throw new Error('a handler that throws must not break the others');
  }
}

describe('TTL and change events', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // One revision sequence: the same order on every node, watches resumed by revision.
    cluster = await startCluster(3, { partitions: 1, watchHistorySize: 50 }, { providers: [UserListener] });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('expires a key on every node, never returning it once the leader expired it', async () => {
    const [follower] = await cluster.followers();
    const sessions = follower!.store.map('sessions');
    await sessions.set('s1', 'token', { ttl: 300 });
    const deadline = (await sessions.getEntry('s1'))!.expiresAt!;
    for (const node of cluster.nodes) expect(node.store.map('sessions').peek('s1')).toBe('token');
    await waitFor(() => Date.now() > deadline, 'the deadline');
    // Reads go by log time, not the reader's clock: the key is gone on a node from the leader's expire
    // entry (proposed once the leader's clock passes the deadline) on, and from then on no read returns it.
    for (const node of cluster.nodes) {
      const listener = node.module.get(UserListener);
      await waitFor(() => listener.expired.includes('s1'), `expire event on ${node.id}`);
      expect(node.store.map('sessions').peek('s1')).toBeUndefined();
      expect(await node.store.map('sessions').get('s1')).toBeUndefined();
    }
    await expect(sessions.set('s2', 'x', { ttl: Number.NaN })).rejects.toThrow(
      /ttl must be a positive integer/,
    );
  });

  it('emits the same changes in the same order on every node', async () => {
    const leader = await cluster.leader();
    const streams = cluster.nodes.map((node) =>
      firstValueFrom(node.store.changes$.pipe(take(30), toArray())),
    );
    for (let i = 0; i < 10; i++) {
      await leader.store.set(`user:${i}`, i);
      await leader.store.set(`other:${i}`, i);
      await leader.store.delete(`user:${i}`);
    }
    const [first, ...rest] = await Promise.all(streams);
    for (const other of rest) expect(other).toEqual(first);
    const revisions = first!.map((c) => c.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(first!.filter((c) => c.key.startsWith('user:')).map((c) => c.type)).toEqual(
      Array.from({ length: 10 }, () => ['set', 'delete']).flat(),
    );
    const handlerViews = cluster.nodes.map((node) => node.module.get(UserListener).seen);
    await waitFor(
      () => handlerViews.every((seen) => seen.length === handlerViews[0]!.length),
      'all handlers',
    );
    for (const seen of handlerViews) expect(seen).toEqual(handlerViews[0]);
    expect(handlerViews[0]!.filter((line) => line.startsWith('set user:'))).toHaveLength(10);
  });

  it('resumes a watch from a past revision, and reports a compacted one', async () => {
    const [follower] = await cluster.followers();
    const store = follower!.store;
    const first = await store.set('watched:a', 1);
    await store.set('watched:b', 2);
    await store.set('unwatched', 3);
    await store.set('watched:a', 4);
    const replay = await firstValueFrom(
      store.watch('watched:*', { fromRevision: first.revision }).pipe(take(3), toArray()),
    );
    expect(replay.map((c) => [c.key, c.value])).toEqual([
      ['watched:a', 1],
      ['watched:b', 2],
      ['watched:a', 4],
    ]);
    // The history keeps 50 events: older revisions are compacted away.
    for (let i = 0; i < 60; i++) await store.set('filler', i);
    let error: unknown;
    store
      .watch('watched:*', { fromRevision: first.revision })
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toBeInstanceOf(CompactedError);
    expect((error as CompactedError).oldestRevision).toBeGreaterThan(first.revision);
  });
});
