import { InvalidArgumentError, UpdateConflictError, type UpdateResult } from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

/**
 * Every node runs `perNode` updates of one counter at once: none is lost, and each write landed once (the
 * versions written are exactly 1..n, none twice). Returns every update's result.
 */
async function updateFromEveryNode(
  cluster: TestCluster,
  perNode: number,
): Promise<UpdateResult<{ count: number }>[]> {
  const results = await Promise.all(
    cluster.nodes.map((node) =>
      Promise.all(
        Array.from({ length: perNode }, () =>
          node.store
            .map<{ count: number }>('counters')
            .update('hits', (current) => ({ count: (current?.count ?? 0) + 1 }), { retries: 100 }),
        ),
      ),
    ),
  );
  const total = cluster.nodes.length * perNode;
  expect(await cluster.nodes[0]!.store.map('counters').get('hits')).toEqual({ count: total });
  const versions = results.flat().map((r) => r.version);
  expect(new Set(versions).size).toBe(total);
  expect(Math.max(...versions)).toBe(total);
  return results.flat();
}

/** The most attempts one update took: above 1 when the nodes' updates did conflict. */
function mostAttempts(results: readonly UpdateResult<unknown>[]): number {
  return Math.max(...results.map((r) => r.attempts));
}

describe('update and transactions on a 3-node cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // Transactions over any keys and one revision for all their writes: one group.
    cluster = await startCluster(3, { partitions: 1 });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('loses no update when every node updates the same key at once', async () => {
    expect(mostAttempts(await updateFromEveryNode(cluster, 15))).toBeGreaterThan(1);
  });

  it('computes again from the value another writer left, and gives up with a clear error when retries run out', async () => {
    const [a, b] = cluster.nodes;
    const map = a!.store.map<number>('conflicts');
    await map.set('n', 1);
    // The first run of fn is overtaken by a write on another node, so its conditional write is refused.
    let calls = 0;
    const interfering = async (current: number | undefined) => {
      if (calls++ === 0) await b!.store.map<number>('conflicts').set('n', 10);
      return (current ?? 0) * 2;
    };
    const updated = await map.update('n', interfering, { retries: 1 });
    expect(updated).toMatchObject({ value: 20, attempts: 2, version: 3 });
    calls = 0;
    const failing = map.update('n', interfering, { retries: 0 });
    await expect(failing).rejects.toThrow(UpdateConflictError);
    await expect(failing).rejects.toThrow(/gave up after 1 attempts/);
    expect(await map.get('n')).toBe(10);
    await expect(map.update('n', (v) => v, { retries: -1 })).rejects.toThrow(InvalidArgumentError);
  });

  it('deletes the key when fn returns undefined, and sets the TTL it is given', async () => {
    const map = cluster.nodes[1]!.store.map<string>('updates');
    await map.set('gone', 'x');
    expect(await map.update('gone', () => undefined)).toMatchObject({ value: undefined, version: 0 });
    expect(await map.has('gone')).toBe(false);
    expect(await map.update('absent', () => undefined)).toMatchObject({ revision: 0, attempts: 1 });
    await map.update('ttl', () => 'v', { ttl: (value) => value.length * 60_000 });
    const entry = await map.getEntry('ttl');
    // One character: 60 s. The leader's clock is this process's, so the deadline is about a minute away.
    expect(entry!.expiresAt).toBeGreaterThan(Date.now() + 30_000);
    expect(entry!.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('applies a transaction from a follower atomically: every node sees all its writes at one revision', async () => {
    const [follower] = await cluster.followers();
    const accounts = follower!.store.map<number>('accounts');
    await accounts.set('alice', 100);
    await accounts.set('pending', 1);
    const alice = (await accounts.getEntry('alice'))!;
    const transfer = {
      compare: [
        { key: 'alice', version: alice.version },
        { key: 'bob', exists: false },
      ],
      success: [
        { op: 'set' as const, key: 'alice', value: alice.value - 30 },
        { op: 'set' as const, key: 'bob', value: 30 },
        { op: 'delete' as const, key: 'pending' },
      ],
      failure: [{ op: 'set' as const, key: 'refused', value: 1 }],
    };
    const committed = await accounts.txn(transfer);
    expect(committed).toEqual({
      succeeded: true,
      revision: committed.revision,
      partition: 0,
      results: [
        { key: 'alice', version: 2 },
        { key: 'bob', version: 1 },
        { key: 'pending', version: 0, deleted: true },
      ],
    });
    for (const node of cluster.nodes) {
      const map = node.store.map<number>('accounts');
      await waitFor(
        () => node.runtime.node.machine.appliedIndex >= committed.revision,
        `apply on ${node.id}`,
      );
      expect(map.peek('alice')).toBe(70);
      expect(map.peek('bob')).toBe(30);
      expect(map.peek('pending')).toBeUndefined();
      expect((await map.getEntry('bob', { consistency: 'local' }))!.modRevision).toBe(committed.revision);
    }
    // The same transaction again: alice's version moved, so the failure branch runs and nothing else changes.
    const again = await accounts.txn(transfer);
    expect(again).toMatchObject({ succeeded: false, results: [{ key: 'refused', version: 1 }] });
    expect(await accounts.get('alice')).toBe(70);
  });

  it('refuses a malformed transaction with a clear error before anything is written', async () => {
    const map = cluster.nodes[0]!.store.map<number>('accounts');
    const twice = map.txn({
      success: [
        { op: 'set', key: 'x', value: 1 },
        { op: 'delete', key: 'x' },
      ],
    });
    await expect(twice).rejects.toThrow(/writes key "x" more than once/);
    await expect(map.txn({ compare: [{ key: 'x' } as never] })).rejects.toThrow(/exactly one of exists/);
    await expect(map.txn({ compare: [{ key: 'x', value: undefined as never }] })).rejects.toThrow(
      /exists: false/,
    );
    await expect(map.txn({ success: [{ op: 'set', key: '', value: 1 }] })).rejects.toThrow(
      /the key is empty/,
    );
    await expect(map.txn({ success: [{ op: 'set', key: 'x', value: 1, ttl: 0 }] })).rejects.toThrow(
      /ttl must be/,
    );
    expect(await map.has('x')).toBe(false);
  });
});

describe('update on a partitioned 3-node cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(3);
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('loses no update when every node updates one key of one partition at once', async () => {
    // Partitioned mode (the default): the counter lives in one of many partitions, each its own group.
    expect(cluster.nodes[0]!.runtime.grid).not.toBeNull();
    const partition = cluster.nodes[0]!.store.map('counters').partitionOf('hits');
    const results = await updateFromEveryNode(cluster, 15);
    expect(new Set(results.map((r) => r.partition))).toEqual(new Set([partition]));
    expect(mostAttempts(results)).toBeGreaterThan(1);
  });
});
