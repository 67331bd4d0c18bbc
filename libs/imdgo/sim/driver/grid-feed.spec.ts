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
    // a:1 holds no replica of some partitions: those it replays from a replica.
    const followed = feed.slice(12).filter((e) => grid.node('a:1').replica(e.partition) === undefined);
    expect(followed.length).toBeGreaterThan(0);
    const resumed: GridChangeEvent[] = [];
    const subscription = grid
      .node('a:1')
      .changesFrom(position.cursor())
      .subscribe((e) => resumed.push(e));
    // Writes while the replay is in flight: their live events wait behind it, neither lost nor repeated.
    await withWrites(grid, 10, 'later');
    await grid.runUntil(() => feed.length === 40, 'a:1 saw the later writes');
    await grid.runUntil(() => resumed.length >= feed.length - 12, 'a:1 replayed from its replicas');
    subscription.unsubscribe();
    for (const partition of new Set(followed.map((e) => e.partition))) {
      const revisions = resumed.filter((e) => e.partition === partition).map((e) => e.revision);
      expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    }
    expect(order(resumed)).toEqual(order(feed.slice(12)));
    expect(new Set(order(resumed)).size).toBe(resumed.length);
  }, 60_000);

  it('replays a partition it holds no replica of around an unreachable replica, holding live events back', async () => {
    const grid = new GridCluster({ members: MEMBERS, partitions: PARTITIONS, seed: 13 });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    await withWrites(grid, 30, 'k');
    const a = grid.node('a:1');
    const partition = [...Array(PARTITIONS).keys()].find((p) => a.replica(p) === undefined)!;
    const keysOf = (prefix: string) =>
      Array.from({ length: 200 }, (_, i) => `${prefix}${i}`)
        .filter((key) => a.partitionOf('m', key) === partition)
        .slice(0, 3);
    // Through b:1, so that a:1's own calls do not need the link cut below.
    const writeThroughB = async (keys: string[]) => {
      const write = (key: string) =>
        grid.node('b:1').write(partition, { op: 'set', map: 'm', key, value: 1 });
      const results = await grid.settle(Promise.all(keys.map(write)), 'writes');
      return Math.max(...results.map((result) => result.revision));
    };
    const newest = await writeThroughB(keysOf('before'));
    const feed = grid.feeds.get('a:1')!;
    await grid.runUntil(() => a.feedRevision(partition) >= newest, 'a:1 caught up');
    const before = feed.filter((e) => e.partition === partition).map((e) => e.revision);
    // The replay's first replica (the preferred leader) cannot hear a:1: it has to go to another one, while
    // the poll a:1's follower has pending there still brings the next writes live.
    // Long enough for a:1's next long poll to be held there, not so long that it is answered empty.
    await grid.runFor(50);
    grid.wire.network.blockOneWay('a:1', a.table().partitions[partition]!.leader);
    const resumed: GridChangeEvent[] = [];
    const subscription = a
      .changesFrom(new GridPosition(PARTITIONS).cursor())
      .subscribe((e) => e.partition === partition && resumed.push(e));
    await writeThroughB(keysOf('during'));
    await grid.runUntil(() => resumed.length >= before.length + 3, 'a:1 replayed and went on live');
    subscription.unsubscribe();
    grid.wire.network.heal();
    const expected = feed.filter((e) => e.partition === partition).map((e) => e.revision);
    expect(expected.length).toBe(before.length + 3);
    expect(resumed.map((e) => e.revision)).toEqual(expected);
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
    const subscription = grid
      .node('b:1')
      .changesFrom(new GridPosition(PARTITIONS).cursor())
      .subscribe((e) => resumed.push(e));
    // The partitions b:1 holds no replica of are asked of a replica, which compacted them too.
    await grid.runUntil(
      () => new Set(resumed.map((e) => e.partition)).size === PARTITIONS,
      'b:1 resumed every partition',
    );
    subscription.unsubscribe();
    const busiest = [...new Set(feed.map((e) => e.partition))].filter(
      (p) => feed.filter((e) => e.partition === p).length > 1 + 16,
    );
    expect(busiest.length).toBeGreaterThan(0);
    for (const partition of busiest) {
      const first = resumed.find((e) => e.partition === partition)!;
      expect(first).toMatchObject({ type: 'reset', revision: grid.node('b:1').feedRevision(partition) });
    }
  }, 60_000);

  it('reports a partition compacted on its replicas before any event of the others', async () => {
    const grid = new GridCluster({ members: MEMBERS, partitions: PARTITIONS, seed: 12, historySize: 1 });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    const newest = await withWrites(grid, 200, 'k');
    const node = grid.node('b:1');
    await grid.runUntil(
      () => [...newest].every(([p, revision]) => node.feedRevision(p) >= revision),
      'b:1 is up to date on every partition',
    );
    // The partitions b:1 replicates resume within what it retains; the others from the start, which their
    // replicas compacted long ago.
    const position = new GridPosition(PARTITIONS);
    const held = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => node.replica(p) !== undefined);
    for (const p of held) position.advance(p, node.feedRevision(p) - 1);
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThan(PARTITIONS);
    const resumed: GridChangeEvent[] = [];
    const subscription = node.changesFrom(position.cursor()).subscribe((e) => resumed.push(e));
    await grid.runUntil(
      () => new Set(resumed.map((e) => e.partition)).size === PARTITIONS,
      'b:1 resumed every partition',
    );
    subscription.unsubscribe();
    const types = resumed.map((e) => e.type);
    expect(types).toContain('reset');
    expect(types.some((type) => type !== 'reset')).toBe(true);
    expect(types.lastIndexOf('reset')).toBeLessThan(types.findIndex((type) => type !== 'reset'));
  }, 60_000);
});
