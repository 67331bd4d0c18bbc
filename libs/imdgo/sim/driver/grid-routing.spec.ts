import { describe, expect, it } from 'vitest';
import { GRID_CHANNEL } from '../../src/grid/grid-wire.ts';
import { decodePartitionTable } from '../../src/partition/partition-table-codec.ts';
import { encodeCommand, type CommandResult } from '../../src/state-machine/commands.ts';
import { PeerTransportError } from '../../src/transport/peer-transport-error.ts';
import { GridCluster } from './grid-cluster.ts';
import { SimProcess } from './virtual-time.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];
const PARTITIONS = 8;

async function formed(seed = 1): Promise<GridCluster> {
  const grid = new GridCluster({ members: MEMBERS, partitions: PARTITIONS, seed });
  grid.startAll();
  await grid.runUntil(() => grid.fullyReplicated(), 'every group formed');
  return grid;
}

/** A partition `id` holds no replica of, and a key of it. */
function elsewhere(grid: GridCluster, id: string): { partition: number; key: string } {
  const node = grid.node(id);
  for (let i = 0; ; i++) {
    const key = `key${i}`;
    const partition = node.partitionOf('m', key);
    if (!node.replica(partition)) return { partition, key };
  }
}

describe('GridNode routing on virtual time', () => {
  it('hosts every partition on its replicas, routes from every node, and feeds every change to every node', async () => {
    const grid = await formed();
    const table = grid.node('a:1').table();
    for (const id of MEMBERS) {
      const hosted = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => grid.node(id).replica(p));
      const placed = table.partitions.flatMap((r, p) => (r.voters.includes(id) ? [p] : []));
      expect(hosted).toEqual(placed);
      expect(grid.node(id).coordination.isSeatedVoter()).toBe(true);
    }
    const writes: Promise<CommandResult>[] = [];
    for (const [i, id] of MEMBERS.entries()) {
      for (let k = 0; k < 8; k++) {
        const key = `k${i}-${k}`;
        const p = grid.node(id).partitionOf('m', key);
        writes.push(grid.node(id).write(p, { op: 'set', map: 'm', key, value: i * 100 + k }));
      }
    }
    const results = await grid.settle(Promise.all(writes), 'every write');
    expect(results.every((r) => r.applied)).toBe(true);
    // Some of them went to nodes without a replica of their partition: routed, in batches.
    const routed = MEMBERS.reduce((sum, id) => sum + grid.node(id).stats().routedOps, 0);
    const requests = MEMBERS.reduce((sum, id) => sum + grid.node(id).stats().routedRequests, 0);
    expect(routed).toBeGreaterThan(5);
    expect(requests).toBeLessThan(routed);
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
    // Listing and counting gather a partition's keys wherever they are asked.
    const { partition } = elsewhere(grid, 'a:1');
    const size = await grid.settle(grid.node('a:1').size(partition, 'm', 'linearizable'), 'size');
    const page = await grid.settle(
      grid.node('a:1').list(partition, 'm', { limit: size }, 'linearizable'),
      'list',
    );
    expect(page.entries).toHaveLength(size);
    expect(page.more).toBe(false);
    expect(page.entries.map(([key]) => key)).toEqual(page.entries.map(([key]) => key).sort());
    // Across partitions: 40 keys, paged in key order by `after`.
    expect(await grid.settle(grid.node('c:1').sizeAll('m', 'linearizable'), 'sizeAll')).toBe(40);
    const keys: string[] = [];
    let after: string | undefined;
    for (;;) {
      const next = await grid.settle(
        grid.node('c:1').listAll('m', { limit: 7, ...(after === undefined ? {} : { after }) }, 'leader'),
        'listAll',
      );
      keys.push(...next.entries.map(([key]) => key));
      if (!next.more) break;
      after = keys.at(-1);
    }
    expect(keys).toEqual(writes.map((_, n) => `k${Math.floor(n / 8)}-${n % 8}`).sort());
    await grid.runUntil(
      () => MEMBERS.every((id) => grid.feeds.get(id)!.filter((e) => e.type === 'set').length === 40),
      'every node saw every write',
    );
  }, 60_000);

  it('a caller with an older table is redirected, adopts the newer one, and its call succeeds', async () => {
    const grid = await formed(2);
    const { partition, key } = elsewhere(grid, 'a:1');
    const newer = { ...grid.node('a:1').table(), epoch: 2 };
    for (const id of MEMBERS.filter((m) => m !== 'a:1'))
      await grid.settle(grid.node(id).adoptTable(newer), 'adopt');
    const result = await grid.settle(
      grid.node('a:1').write(partition, { op: 'set', map: 'm', key, value: 1 }),
      'routed write',
    );
    expect(result.applied).toBe(true);
    expect(grid.node('a:1').table().epoch).toBe(2);
    expect(grid.node('a:1').stats().redirects).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a newer table held by one node reaches every node through the redirects its answers carry', async () => {
    const grid = await formed(3);
    await grid.settle(grid.node('a:1').adoptTable({ ...grid.node('a:1').table(), epoch: 2 }), 'adopt');
    // Every node polls a:1 for the feed of a partition it does not replicate, or a:1 polls it.
    await grid.runUntil(
      () => MEMBERS.every((id) => grid.node(id).table().epoch === 2),
      'every node at epoch 2',
    );
  }, 60_000);

  it('serves a local read on a node without a replica from the nearest replica: the preferred leader first', async () => {
    const grid = await formed(4);
    const { partition, key } = elsewhere(grid, 'a:1');
    await grid.settle(grid.node('b:1').write(partition, { op: 'set', map: 'm', key, value: 'x' }), 'write');
    const { voters, leader: preferred } = grid.node('a:1').table().partitions[partition]!;
    await grid.runUntil(
      () => voters.every((id) => grid.node(id).replica(partition)!.machine.get('m', key)?.value === 'x'),
      'every replica applied the write',
    );
    const served = () => voters.map((id) => grid.node(id).stats().servedOps);
    const before = served();
    const record = await grid.settle(grid.node('a:1').read(partition, 'm', key, 'local'), 'local read');
    expect(record?.value).toBe('x');
    const after = served();
    expect(voters.filter((_, i) => after[i]! > before[i]!)).toEqual([preferred]);
    // Without it, another replica serves.
    grid.crash(preferred);
    const fallback = await grid.settle(grid.node('a:1').read(partition, 'm', key, 'local'), 'fallback read');
    expect(fallback?.value).toBe('x');
  }, 60_000);

  it('a node without a replica follows the feed across a leader crash: nothing lost, nothing repeated, in order', async () => {
    const grid = await formed(5);
    const { partition } = elsewhere(grid, 'a:1');
    const keys = Array.from({ length: 200 }, (_, i) => `f${i}`).filter(
      (k) => grid.node('a:1').partitionOf('m', k) === partition,
    );
    const writer = MEMBERS.find((id) => id !== 'a:1' && !grid.node(id).replica(partition))!;
    const write = (key: string, value: number) =>
      grid.settle(grid.node(writer).write(partition, { op: 'set', map: 'm', key, value }), `write ${key}`);
    const acknowledged: number[] = [];
    for (const key of keys.slice(0, 5)) acknowledged.push((await write(key, 1)).revision);
    await grid.runUntil(() => grid.node('a:1').feedRevision(partition) >= acknowledged.at(-1)!, 'followed');
    const leader = grid.alive().find((id) => grid.node(id).replica(partition)?.isLeader())!;
    grid.crash(leader);
    for (const key of keys.slice(5)) acknowledged.push((await write(key, 2)).revision);
    await grid.runUntil(
      () => grid.node('a:1').feedRevision(partition) >= acknowledged.at(-1)!,
      'followed after the leader change',
    );
    const seen = grid.feeds
      .get('a:1')!
      .filter((e) => e.partition === partition && e.type === 'set')
      .map((e) => e.revision);
    expect(seen).toEqual(acknowledged);
  }, 60_000);

  it('refuses hostile grid requests without harm, and goes on serving', async () => {
    const grid = await formed(6);
    const evil = grid.wire.transport('z:1', new SimProcess(grid.time));
    await evil.start();
    const ask = (body: unknown) =>
      grid.settle(
        evil.request<unknown>('a:1', { kind: 'group', group: GRID_CHANNEL, body }, 5_000).then(
          (reply) => ({ reply }),
          (error: unknown) => ({ error }),
        ),
        'an answer',
      );
    for (const body of [
      null,
      'grid',
      { kind: 'grid-ops', epoch: 1, ops: [{ op: 'write', partition: 99, data: new Uint8Array(1) }] },
      { kind: 'grid-ops', epoch: 'one', ops: [] },
      { kind: 'grid-events', epoch: 1, polls: [[0, -5]], waitMs: 1 },
    ]) {
      const answer = await ask(body);
      expect(answer).toHaveProperty('error');
      expect((answer as { error: PeerTransportError }).error.message).toMatch(/malformed grid request/);
    }
    // A caller with a newer table gets `stale`, never an answer; one with an older table the newer table.
    const read = { op: 'read', partition: 0, map: 'm', key: 'k', consistency: 'local' };
    expect(await ask({ kind: 'grid-ops', epoch: 7, ops: [read] })).toEqual({ reply: { stale: 1 } });
    await grid.settle(grid.node('a:1').adoptTable({ ...grid.node('a:1').table(), epoch: 2 }), 'adopt');
    const redirect = (await ask({ kind: 'grid-ops', epoch: 1, ops: [read] })) as {
      reply: { redirect: string };
    };
    expect(decodePartitionTable(redirect.reply.redirect)).toEqual(grid.node('a:1').table());
    // Well-formed, but not a command any replica may log: refused for good.
    const hosted = Array.from({ length: PARTITIONS }, (_, p) => p).find((p) => grid.node('a:1').replica(p))!;
    for (const data of [
      new Uint8Array([0xc1, 0, 1]),
      encodeCommand({ command: { op: 'set', key: 'k', value: 1 } }),
    ]) {
      const answer = await ask({
        kind: 'grid-ops',
        epoch: 2,
        ops: [{ op: 'write', partition: hosted, data }],
      });
      expect(answer).toMatchObject({
        reply: { answers: [{ error: expect.stringMatching(/routed write/) }] },
      });
    }
    // A long poll asking to be held for hours is held one election timeout at most.
    const started = grid.time.now;
    const poll = await ask({
      kind: 'grid-events',
      epoch: 2,
      polls: [[hosted, 1_000_000]],
      waitMs: 10_000_000,
    });
    expect(poll).toMatchObject({ reply: { answers: [{ events: [] }] } });
    expect(grid.time.now - started).toBeLessThan(2_000);
    // The node is unharmed.
    const result = await grid.settle(
      grid.node('a:1').write(hosted, { op: 'set', map: 'm', key: 'after', value: 1 }),
      'write',
    );
    expect(result.applied).toBe(true);
  }, 60_000);
});
