import { Injectable } from '@nestjs/common';
import { OnKeyChange, type ChangeEvent } from 'imdgo';
import { firstValueFrom, take, toArray, type Subscription } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster, type TestNode } from './support/cluster.ts';

interface User {
  n: number;
  tags: string[];
  address: { city: string };
}

const MAP = 'users';
const KEY = 'u';

function user(n: number): User {
  return { n, tags: ['a'], address: { city: 'x' } };
}

/** What an app may do with a value it was handed: change it in place. */
function mutate(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  const changed = value as User;
  changed.n = 99;
  changed.tags.push('changed');
  changed.address.city = 'changed';
}

function untouched(value: unknown): boolean {
  if (value === undefined) return true;
  const seen = value as User;
  return seen.n !== 99 && seen.tags.length === 1 && seen.address.city === 'x';
}

/** The key's replica on `node`: every node holds one (three members, three replicas). */
function replica(node: TestNode) {
  const partition = node.store.map(MAP).partitionOf(KEY);
  return node.runtime.grid ? node.runtime.grid.replica(partition)! : node.runtime.node;
}

/** Two handlers of one key, called in this order: the second sees what the first did to its event. */
@Injectable()
class Handlers {
  readonly seen: ChangeEvent[] = [];

  @OnKeyChange({ map: MAP, key: KEY })
  changeIt(change: ChangeEvent): void {
    mutate(change.value);
    mutate(change.previous);
  }

  @OnKeyChange({ map: MAP, key: KEY })
  record(change: ChangeEvent): void {
    this.seen.push(change);
  }
}

describe.each([1, 4])('values handed to the app, with %i partition(s)', (partitions) => {
  let cluster: TestCluster;
  const subscriptions: Subscription[] = [];

  beforeAll(async () => {
    cluster = await startCluster(3, { partitions, watchHistorySize: 100 }, { providers: [Handlers] });
    await Promise.all(cluster.nodes.map((node) => node.store.ready({ timeoutMs: 60_000 })));
  }, 120_000);

  afterAll(async () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await cluster.closeAll();
  });

  it("are the app's own to change: this node's replica stays the others'", async () => {
    // Every subscriber changes what it gets, in every way an app subscribes.
    for (const node of cluster.nodes) {
      const map = node.store.map<User>(MAP);
      for (const changes$ of [node.store.changes$, map.changes$, map.watch('u*')]) {
        subscriptions.push(
          changes$.subscribe((change) => {
            mutate(change.value);
            mutate(change.previous);
          }),
        );
      }
    }
    const firstRevision = (await cluster.nodes[0]!.store.map<User>(MAP).set(KEY, user(0))).revision;
    // Writes from every node: one of them leads the key's group, where results come from its own apply.
    for (const node of cluster.nodes) {
      const map = node.store.map<User>(MAP);
      mutate((await map.set(KEY, user(1))).previous);
      // Changed before the write is even applied: the write stores the value as it was called with.
      const written = user(2);
      const writing = map.set(KEY, written);
      mutate(written);
      await writing;
      mutate(await map.get(KEY));
      mutate(await map.get(KEY, { consistency: 'local' }));
      mutate(await map.get(KEY, { consistency: 'leader' }));
      mutate(map.peek(KEY));
      mutate((await map.getEntry(KEY))?.value);
      for (const entry of (await map.entries()).items) mutate(entry.value);
      mutate((await map.putIfAbsent(KEY, user(3))).current);
      mutate((await map.compareAndSet(KEY, user(0), user(4))).current);
      await map.update(KEY, (current) => {
        mutate(current);
        return user(5);
      });
      mutate((await map.delete(KEY)).previous);
      await map.set(KEY, user(2));
    }

    const digests = await waitFor(() => {
      const replicas = cluster.nodes.map(replica);
      const applied = new Set(replicas.map((node) => node.machine.appliedIndex));
      return applied.size === 1 && replicas.map((node) => node.machine.digest());
    }, 'every replica at one applied index');
    expect(new Set(digests).size).toBe(1);
    for (const node of cluster.nodes) {
      expect(await node.store.map<User>(MAP).get(KEY, { consistency: 'local' })).toStrictEqual(user(2));
      const seen = node.module.get(Handlers).seen;
      expect(seen.length).toBeGreaterThan(0);
      for (const change of seen) {
        expect([change.value, change.previous].every(untouched), JSON.stringify(change)).toBe(true);
      }
    }
    // The partition table a report shows is the coordination group's replicated one.
    for (const node of cluster.nodes) {
      for (const status of node.cluster.partitions()?.partitions ?? []) {
        // Readonly in its type, but JavaScript lets an app change it anyway.
        (status.voters as string[]).push('changed');
        (status.learners as string[]).push('changed');
      }
    }
    const coordination = cluster.nodes.map((node) => node.runtime.node.machine);
    await waitFor(
      () => new Set(coordination.map((machine) => machine.appliedIndex)).size === 1,
      'the coordination group at one applied index',
    );
    expect(new Set(coordination.map((machine) => machine.digest())).size).toBe(1);
    if (partitions === 1) {
      // The watch history replays the values as they were written.
      const events = cluster.nodes.length * 5 + 1;
      const replayed = await firstValueFrom(
        cluster.nodes[0]!.store.map<User>(MAP)
          .watch(KEY, { fromRevision: firstRevision })
          .pipe(take(events), toArray()),
      );
      for (const change of replayed) {
        expect([change.value, change.previous].every(untouched), JSON.stringify(change)).toBe(true);
      }
    }
  });
});
