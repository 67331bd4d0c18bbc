import { describe, expect, it } from 'vitest';
import { GridPosition } from '../../src/grid/grid-cursor.ts';
import type { GridChangeEvent } from '../../src/grid/grid-types.ts';
import { GridCluster } from './grid-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1'];
const PARTITIONS = 6;

const order = (events: readonly GridChangeEvent[]) =>
  events.map((e) => `${e.partition}/${e.revision}/${e.type}/${e.key}`).sort();

/** Writes `count` keys through every node in turn; returns the newest revision written per partition. */
async function withWrites(grid: GridCluster, count: number, prefix: string): Promise<Map<number, number>> {
  const newest = new Map<number, number>();
  const writes = Array.from({ length: count }, async (_, i) => {
    const node = grid.node(MEMBERS[i % MEMBERS.length]!);
    const key = `${prefix}${i}`;
    const partition = node.partitionOf('m', key);
    const { revision } = await node.write(partition, { op: 'set', map: 'm', key, value: i });
    newest.set(partition, Math.max(newest.get(partition) ?? 0, revision));
  });
  await grid.settle(Promise.all(writes), 'writes');
  return newest;
}

describe('GridNode change feed across partitions', () => {
  it('changesFrom a cursor replays exactly what followed it on every partition, then goes on live', async () => {
    const grid = new GridCluster({ members: MEMBERS, partitions: PARTITIONS, seed: 11 });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    await withWrites(grid, 30, 'k');
    const feed = grid.feeds.get('a:1')!;
    await grid.runUntil(() => feed.length === 30, 'a:1 saw every write');
    const position = new GridPosition(PARTITIONS);
    for (const event of feed.slice(0, 12)) position.advance(event.partition, event.revision);
    const resumed: GridChangeEvent[] = [];
    const subscription = grid
      .node('a:1')
      .changesFrom(position.cursor())
      .subscribe((e) => resumed.push(e));
    expect(order(resumed)).toEqual(order(feed.slice(12)));
    await withWrites(grid, 10, 'later');
    await grid.runUntil(() => feed.length === 40, 'a:1 saw the later writes');
    subscription.unsubscribe();
    expect(order(resumed)).toEqual(order(feed.slice(12)));
    expect(new Set(order(resumed)).size).toBe(resumed.length);
  }, 60_000);

  it('a cursor older than what is retained starts that partition with a reset', async () => {
    const grid = new GridCluster({ members: MEMBERS, partitions: PARTITIONS, seed: 12, historySize: 1 });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    const newest = await withWrites(grid, 200, 'k');
    const feed = grid.feeds.get('b:1')!;
    await grid.runUntil(
      () => [...newest].every(([p, revision]) => grid.node('b:1').feedRevision(p) >= revision),
      'b:1 is up to date on every partition',
    );
    const resumed: GridChangeEvent[] = [];
    grid
      .node('b:1')
      .changesFrom(new GridPosition(PARTITIONS).cursor())
      .subscribe((e) => resumed.push(e))
      .unsubscribe();
    const busiest = [...new Set(feed.map((e) => e.partition))].filter(
      (p) => feed.filter((e) => e.partition === p).length > 1 + 16,
    );
    expect(busiest.length).toBeGreaterThan(0);
    for (const partition of busiest) {
      const first = resumed.find((e) => e.partition === partition)!;
      expect(first).toMatchObject({ type: 'reset', revision: grid.node('b:1').feedRevision(partition) });
    }
  }, 60_000);
});
