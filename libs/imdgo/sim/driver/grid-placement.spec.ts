import { describe, expect, it } from 'vitest';
import { GridPlacement } from '../../src/grid/placement/grid-placement.ts';
import type { GridNode } from '../../src/grid/grid-node.ts';
import type { GridNodeOptions } from '../../src/grid/grid-types.ts';
import { GRID_TUNING, GridCluster } from './grid-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1'];
const PARTITIONS = 6;

/** Whether the node has started its coordination group. */
function coordinated(node: GridNode): boolean {
  try {
    return node.coordination !== undefined;
  } catch {
    return false;
  }
}

/** GridNodes with placement wired in: a member dies for good, another is drained; the grid follows. */
async function scenario(seed: number): Promise<string> {
  const placements = new Map<string, GridPlacement>();
  const cluster = new GridCluster({
    members: MEMBERS,
    partitions: PARTITIONS,
    replicas: 3,
    seed,
    faults: {
      lossRate: 0.01,
      duplicateRate: 0.01,
      minDelayMs: 1,
      maxDelayMs: 10,
      longDelayRate: 0,
      longDelayMaxMs: 0,
    },
    extra: (id) => ({
      // The coordination leader's contact times are its failure detector: that group must not go quiet.
      quiesce: false,
      onCoordinationChange: (change) => placements.get(id)?.onCoordinationChange(change),
    }),
  });
  cluster.startAll();
  for (const id of MEMBERS) {
    const node = cluster.node(id);
    // The node's own process identity, which its groups (and so placement's learners) are seated as.
    const { incarnation, transport, scheduler } = (node as unknown as { options: GridNodeOptions }).options;
    const placement = new GridPlacement({
      incarnation,
      transport,
      scheduler: scheduler!,
      replicas: 3,
      requestTimeoutMs: 2_000,
      pollMs: GRID_TUNING.tickMs,
      deadMemberTimeoutMs: 5_000,
      failureDetectionMs: 2_000,
      moveTimeoutMs: 20_000,
    });
    placements.set(id, placement);
    await cluster.runUntil(() => coordinated(node), `${id} started`);
    void placement.start(node);
  }
  const table = () => cluster.node('a:1').coordination.machine.grid.table!;
  await cluster.runUntil(() => cluster.node('a:1').coordination.machine.grid.table !== null, 'formed');

  const acked = new Map<string, number>();
  let written = 0;
  const write = async () => {
    const value = ++written;
    const key = `k${value}`;
    const alive = cluster.alive();
    const via = cluster.node(alive[value % alive.length]!);
    const partition = via.partitionOf('', key);
    try {
      await via.write(partition, { op: 'set', map: '', key, value });
      acked.set(key, value);
    } catch {
      // not acknowledged: may or may not have been applied
    }
  };
  const writer = cluster.processes.get('a:1')!.setInterval(() => void write(), 100);

  // Placement is done: three voters per partition on `members`, no learner, every node routing by it.
  const settledOn = (members: readonly string[]) => () => {
    const current = table();
    return (
      current.partitions.every(
        (p) =>
          p.learners.length === 0 && p.voters.length === 3 && p.voters.every((id) => members.includes(id)),
      ) &&
      cluster.alive().every((id) => cluster.node(id).table().epoch === current.epoch) &&
      // Leaderships where placement balanced them.
      current.partitions.every((p, partition) =>
        cluster.nodes.get(p.leader)?.replica(partition)?.isLeader(),
      ) &&
      current.partitions.every((p, partition) =>
        cluster
          .alive()
          .every((id) => (cluster.node(id).replica(partition) !== undefined) === p.voters.includes(id)),
      )
    );
  };

  cluster.crash('e:1');
  await cluster.runUntil(settledOn(['a:1', 'b:1', 'c:1', 'd:1']), 'e replaced', 180_000);

  await cluster.settle(placements.get('a:1')!.removeMember('d:1', 120_000), 'd drained', 180_000);
  await cluster.runUntil(settledOn(['a:1', 'b:1', 'c:1']), 'd drained and routed around', 180_000);

  cluster.processes.get('a:1')!.clearInterval(writer);
  await cluster.runFor(3_000);
  expect(acked.size).toBeGreaterThan(50);
  for (const [key, value] of acked) {
    const node = cluster.node('b:1');
    const record = await cluster.settle(
      node.read(node.partitionOf('', key), '', key, 'linearizable'),
      `read ${key}`,
    );
    expect(record?.value, key).toBe(value);
  }
  return `${table().epoch} t=${cluster.time.now}`;
}

describe('placement wired into GridNode', () => {
  it('re-creates a dead member’s replicas and drains a removed one; every node routes by the new table; nothing acknowledged lost', async () => {
    const first = await scenario(11);
    expect(await scenario(11)).toBe(first);
  }, 300_000);
});
