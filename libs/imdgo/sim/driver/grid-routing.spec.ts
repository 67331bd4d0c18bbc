import { describe, expect, it } from 'vitest';
import { GridCluster } from './grid-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];

describe('GridNode on virtual time', () => {
  it('hosts every partition on its replicas, routes from every node, and feeds every change to every node', async () => {
    const grid = new GridCluster({ members: MEMBERS, partitions: 8, seed: 1 });
    grid.startAll();
    await grid.runUntil(() => grid.everyPartitionLed(), 'every partition led');
    const table = grid.node('a:1').table();
    for (const id of MEMBERS) {
      const hosted = Array.from({ length: 8 }, (_, p) => p).filter((p) => grid.node(id).replica(p));
      const placed = table.partitions.flatMap((r, p) => (r.voters.includes(id) ? [p] : []));
      expect(hosted).toEqual(placed);
    }
    // A write of each key through a node that does hold, and one that does not, a replica.
    const writes = [];
    for (const [i, id] of MEMBERS.entries()) {
      for (let k = 0; k < 8; k++) {
        const key = `k${i}-${k}`;
        const p = grid.node(id).partitionOf('m', key);
        writes.push(grid.node(id).write(p, { op: 'set', map: 'm', key, value: i * 100 + k }));
      }
    }
    const results = await grid.settle(Promise.all(writes), 'every write');
    expect(results.every((r) => r.applied)).toBe(true);
    for (const id of MEMBERS) {
      for (const [i] of MEMBERS.entries()) {
        for (let k = 0; k < 8; k++) {
          const key = `k${i}-${k}`;
          const p = grid.node(id).partitionOf('m', key);
          for (const consistency of ['linearizable', 'leader'] as const) {
            const record = await grid.settle(grid.node(id).read(p, 'm', key, consistency), `read ${key}`);
            expect(record?.value).toBe(i * 100 + k);
          }
        }
      }
    }
    await grid.runUntil(
      () => MEMBERS.every((id) => grid.feeds.get(id)!.filter((e) => e.type === 'set').length === 40),
      'every node saw every write',
    );
  }, 60_000);
});
