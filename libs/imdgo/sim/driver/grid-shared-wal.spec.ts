import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/state-machine/commands.ts';
import { SharedWal } from '../../src/storage/shared-wal.ts';
import { SimFileSystem } from '../sim-file-system.ts';
import type { PartitionTable } from '../../src/partition/partition-table.ts';
import { GridCluster } from './grid-cluster.ts';

const LOSE_UNSYNCED = { int: () => 0 };
const DISK_LATENCY_MS = 8;
const MEMBERS = ['a:1', 'b:1', 'c:1'];
const PARTITIONS = 6;

/**
 * A grid whose nodes keep every group in one SharedWal on a simulated disk each (what `dataDir` runs in
 * partitioned mode). A crash of a node loses what its disk had not synced; it restarts with the same
 * incarnation over what survived.
 */
function durableGrid(
  seed: number,
  members: readonly string[] = MEMBERS,
): {
  grid: GridCluster;
  disks: Map<string, SimFileSystem>;
  fsyncs: () => number;
} {
  const disks = new Map<string, SimFileSystem>();
  const wals: SharedWal[] = [];
  const grid: GridCluster = new GridCluster({
    members,
    partitions: PARTITIONS,
    seed,
    extra: (id) => {
      let disk = disks.get(id);
      if (!disk) {
        // A crash loses everything not synced: an acknowledgement ahead of its fsync shows.
        // Each disk operation takes longer than a network hop, as fsyncs do.
        disk = new SimFileSystem({
          random: LOSE_UNSYNCED,
          schedule: (_delayMs, run) => void grid.time.at(grid.time.now + DISK_LATENCY_MS, run),
        });
        disks.set(id, disk);
      }
      const process = grid.processes.get(id)!;
      const wal = new SharedWal({
        dataDir: `/data/${id}`,
        fs: disk,
        segmentBytes: 16 * 1024,
        defer: (run) => process.defer(run),
      });
      wals.push(wal);
      return {
        storageFor: (group) => wal.storageFor(group),
        releaseStorage: (group) => wal.release(group),
        incarnation: `${id}-data`,
      };
    },
  });
  const fsyncs = (): number => wals.reduce((sum, wal) => sum + wal.logSyncs, 0);
  return { grid, disks, fsyncs };
}

describe('a grid on one shared write-ahead log per node (virtual time, simulated disks)', () => {
  it('keeps every acknowledged write through a power loss of every node at once', async () => {
    const { grid, disks } = durableGrid(7);
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'every group formed');
    const writes: Promise<CommandResult>[] = [];
    for (const [i, id] of MEMBERS.entries()) {
      for (let k = 0; k < 20; k++) {
        const key = `k${i}-${k}`;
        writes.push(
          grid.node(id).write(grid.node(id).partitionOf('m', key), { op: 'set', map: 'm', key, value: k }),
        );
      }
    }
    // Power loss everywhere the moment the last write is acknowledged: only what each disk synced survives.
    const acknowledged = Promise.all(writes).then((results) => {
      for (const id of MEMBERS) {
        grid.crash(id);
        disks.get(id)!.crash();
      }
      return results;
    });
    const results = await grid.settle(acknowledged, 'every write');
    expect(results.every((r) => r.applied)).toBe(true);
    for (const id of MEMBERS) disks.set(id, disks.get(id)!.restart());
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'every group formed again');
    for (const i of MEMBERS.keys()) {
      for (let k = 0; k < 20; k++) {
        const key = `k${i}-${k}`;
        const reader = grid.node(MEMBERS[(i + 1) % MEMBERS.length]!);
        const record = await grid.settle(
          reader.read(reader.partitionOf('m', key), 'm', key, 'linearizable'),
          `read ${key}`,
        );
        expect(record?.value, key).toBe(k);
      }
    }
  });

  it('makes the appends of many groups in one turn durable with fewer fsyncs than groups', async () => {
    const { grid, fsyncs } = durableGrid(3);
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'every group formed');
    const before = fsyncs();
    // One write to every partition, all from one node in one turn.
    const node = grid.node('a:1');
    const keys: string[] = [];
    for (let k = 0; keys.length < PARTITIONS; k++) {
      const key = `p${k}`;
      if (!keys.some((other) => node.partitionOf('m', other) === node.partitionOf('m', key))) keys.push(key);
    }
    const results = await grid.settle(
      Promise.all(
        keys.map((key) => node.write(node.partitionOf('m', key), { op: 'set', map: 'm', key, value: 1 })),
      ),
      'one write per partition',
    );
    expect(results.every((r) => r.applied)).toBe(true);
    // Each of 3 nodes persists every partition's entry (leader append, follower append, commit): one log
    // per group would take at least PARTITIONS fsyncs per node.
    expect(fsyncs() - before).toBeLessThan(3 * PARTITIONS);
  });

  it('releases what a group moved off a node held in its log, keeping the vote of the group', async () => {
    const members = [...MEMBERS, 'd:1'];
    const { grid, disks } = durableGrid(5, members);
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'every group formed');
    const partition = 0;
    const group = partition + 1;
    const node = grid.node('a:1');
    const key = [...Array(100).keys()]
      .map((k) => `r${k}`)
      .find((k) => node.partitionOf('m', k) === partition)!;
    await grid.settle(node.write(partition, { op: 'set', map: 'm', key, value: 1 }), 'a write');
    const table = node.table();
    const { voters, leader } = table.partitions[partition]!;
    const leaving = voters.find((id) => id !== leader)!;
    const joining = members.find((id) => !voters.includes(id))!;
    // What the node's disk holds, read from a copy: opening a log starts a segment.
    const stored = async () => {
      const copy = new SimFileSystem({ random: LOSE_UNSYNCED });
      for (const [path, data] of disks.get(leaving)!.durableFiles()) {
        await copy.mkdir(path.slice(0, path.lastIndexOf('/')));
        const file = await copy.open(path, 'w');
        await file.write(data);
        await file.close();
      }
      return new SharedWal({ dataDir: `/data/${leaving}`, fs: copy }).storageFor(group).load();
    };
    const before = await grid.settle(stored(), 'read the log');
    expect(before.entries.length).toBeGreaterThan(0);
    const newer: PartitionTable = {
      epoch: table.epoch + 1,
      partitions: table.partitions.map((replicas, p) =>
        p === partition
          ? { ...replicas, voters: [...voters.filter((id) => id !== leaving), joining] }
          : replicas,
      ),
    };
    for (const id of members) await grid.settle(grid.node(id).adoptTable(newer), 'adopt');
    expect(grid.node(leaving).replica(partition)).toBeUndefined();
    const after = await grid.settle(stored(), 'read the log again');
    expect(after.entries).toEqual([]);
    expect(after.hardState.term).toBe(before.hardState.term);
    expect(after.hardState.vote).toBe(before.hardState.vote);
  }, 60_000);
});
