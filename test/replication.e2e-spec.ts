import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

describe('a 3-node cluster in one process', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(3);
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('replicates a write on the leader to every node', async () => {
    const leader = await cluster.leader();
    const { revision } = await leader.store.set('greeting', 'hello');
    expect(revision).toBeGreaterThan(0);
    for (const node of cluster.nodes) {
      await waitFor(() => node.store.peek('greeting') === 'hello', `greeting on ${node.id}`);
    }
  });

  it('forwards a write on a follower to the leader and returns its result', async () => {
    const [follower] = await cluster.followers();
    const first = await follower!.store.set('user:1', { name: 'Ada' });
    const second = await follower!.store.set('user:1', { name: 'Grace' });
    expect(second.previous).toEqual({ name: 'Ada' });
    expect(second.revision).toBeGreaterThan(first.revision);
    for (const node of cluster.nodes) {
      await waitFor(
        () => (node.store.peek('user:1') as { name: string } | undefined)?.name === 'Grace',
        node.id,
      );
    }
  });

  it('serves a linearizable read on a follower that sees a write just acknowledged elsewhere', async () => {
    const leader = await cluster.leader();
    const followers = await cluster.followers();
    for (let i = 0; i < 20; i++) {
      await leader.store.set('counter', i);
      // No waiting: ReadIndex makes the follower catch up before answering.
      expect(await followers[i % followers.length]!.store.get('counter')).toBe(i);
    }
  });

  it('round-trips value types', async () => {
    const [follower] = await cluster.followers();
    const values: Record<string, unknown> = {
      int: 42,
      float: 1.5,
      big: 2n ** 70n,
      date: new Date('2026-11-26T12:00:00Z'),
      buffer: Buffer.from([1, 2, 3]),
      nested: { list: [1, 'two', null], map: new Map([['a', 1]]) },
    };
    for (const [key, value] of Object.entries(values)) await follower!.store.set(`type:${key}`, value);
    for (const node of cluster.nodes) {
      for (const [key, value] of Object.entries(values)) {
        expect(await node.store.get(`type:${key}`)).toEqual(value);
      }
    }
    expect(await follower!.store.get('type:int')).toBeTypeOf('number');
    expect(await follower!.store.get('type:date')).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(await follower!.store.get('type:buffer'))).toBe(true);
  });

  it('offers conditional writes, counters, listing and named maps', async () => {
    const [follower] = await cluster.followers();
    const store = follower!.store;
    expect((await store.putIfAbsent('lock', 'a')).applied).toBe(true);
    const taken = await store.putIfAbsent('lock', 'b');
    expect(taken).toMatchObject({ applied: false, current: 'a' });
    expect((await store.compareAndSet('lock', 'x', 'c')).applied).toBe(false);
    expect((await store.compareAndSet('lock', 'a', 'c')).applied).toBe(true);
    const entry = await store.getEntry('lock');
    expect((await store.setIfVersion('lock', entry!.version - 1, 'stale')).applied).toBe(false);
    expect((await store.setIfVersion('lock', entry!.version, 'd')).applied).toBe(true);
    expect((await store.increment('hits')).value).toBe(1);
    expect((await store.increment('hits', 5)).value).toBe(6);
    await expect(store.increment('lock')).rejects.toThrow(/not a number/);

    const users = store.map<{ name: string }>('users');
    for (const id of ['c', 'a', 'b', 'd']) await users.set(`u:${id}`, { name: id.toUpperCase() });
    const first = await users.keys({ prefix: 'u:', limit: 2 });
    expect(first).toEqual({ items: ['u:a', 'u:b'], cursor: 'u:b' });
    const second = await users.keys({ prefix: 'u:', limit: 2, after: first.cursor! });
    expect(second).toEqual({ items: ['u:c', 'u:d'], cursor: null });
    expect(await users.size()).toBe(4);
    expect(await store.get('u:a')).toBeUndefined();
    const removed = await users.delete('u:a');
    expect(removed).toMatchObject({ deleted: true, previous: { name: 'A' } });
    expect(await users.has('u:a')).toBe(false);
    expect(await users.get('u:b', { consistency: 'leader' })).toEqual({ name: 'B' });
    expect(await users.get('u:b', { consistency: 'local' })).toEqual({ name: 'B' });
  });
});
