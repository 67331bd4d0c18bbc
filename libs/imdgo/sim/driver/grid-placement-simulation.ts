import { MAX_COORDINATION_VOTERS } from '../../src/grid/grid-node.ts';
import type { PartitionTable } from '../../src/partition/partition-table.ts';
import { SeededRandom } from '../../src/raft/random.ts';
import { DriverInvariants } from './driver-invariants.ts';
import { watchApplies } from './grid-simulation.ts';
import { coordinated, PlacedGrid } from './placed-grid.ts';

export interface GridPlacementSimulationOptions {
  readonly seed: number;
  /** Members at formation; default 5 or 7 by seed (7: two coordination learners). */
  readonly nodes?: number;
}

export interface GridPlacementSimulationResult {
  readonly seed: number;
  readonly failure: string | null;
  /** Every phase, fault and acknowledged write, in order: equal for two runs of one seed. */
  readonly log: readonly string[];
  readonly acknowledged: number;
}

const PARTITIONS = 8;
const REPLICAS = 3;
const SETTLE_MS = 180_000;

/**
 * The production GridNode and GridPlacement on the driver simulator (virtual time, a lossy and duplicating
 * network): a grid forms, a member restarts in memory mode, a new node joins, a member is drained
 * (removeMember) and leaves, and another dies for good past deadMemberTimeoutMs, while a client writes
 * through random nodes. After each step the grid must return to full replication on its members, with
 * replicas and leaderships balanced within one and every node routing by the recorded table; every group's
 * Raft invariants hold throughout, and every acknowledged write is read back at the end.
 */
export async function runGridPlacementSimulation(
  options: GridPlacementSimulationOptions,
): Promise<GridPlacementSimulationResult> {
  const random = new SeededRandom(options.seed);
  const count = options.nodes ?? (options.seed % 2 === 1 ? 7 : 5);
  const formation = Array.from({ length: count }, (_, i) => `n${i}:1`);
  const joiner = 'z:1';
  const log: string[] = [];
  const invariants = new Map<number, DriverInvariants>();
  const groupInvariants = (group: number): DriverInvariants => {
    let checks = invariants.get(group);
    if (!checks) invariants.set(group, (checks = new DriverInvariants()));
    return checks;
  };
  const grid = new PlacedGrid({
    members: formation,
    partitions: PARTITIONS,
    replicas: REPLICAS,
    seed: random.int(2 ** 31),
    faults: {
      lossRate: random.next() * 0.03,
      duplicateRate: random.next() * 0.02,
      minDelayMs: 1,
      maxDelayMs: 2 + random.int(15),
      longDelayRate: 0,
      longDelayMaxMs: 0,
    },
    extra: (id) => ({
      onGroupRoleChange: (group, state) => groupInvariants(group).onRoleChange(id, state),
      onGroupStarted: (group, node) =>
        watchApplies(node, (entry) => groupInvariants(group).onApplied(id, entry)),
    }),
  });
  const { cluster } = grid;
  const acked = new Map<string, number>();
  const note = (text: string) => log.push(`${cluster.time.now.toFixed(1)} ${text}`);
  const violation = (): string | null => {
    for (const [group, checks] of invariants)
      if (checks.violation) return `group ${group}: ${checks.violation}`;
    return null;
  };
  const finish = (failure: string | null) => ({
    seed: options.seed,
    failure: failure ?? violation(),
    log,
    acknowledged: acked.size,
  });

  /** The newest table the coordination group recorded, as any running node applied it (a member taken out of
   * the group, once drained, stays behind). */
  const recorded = (): PartitionTable | null => {
    let newest: PartitionTable | null = null;
    for (const id of cluster.alive()) {
      const node = cluster.node(id);
      const table = coordinated(node) ? node.coordination.machine.grid.table : null;
      if (table && (newest === null || table.epoch > newest.epoch)) newest = table;
    }
    return newest;
  };
  /** Every running replica of `partition` as it sees its group, for a failure's message. */
  const describeGroup = (partition: number): string =>
    cluster
      .alive()
      .flatMap((id) => {
        const replica = cluster.node(id).replica(partition);
        if (!replica) return [];
        const status = replica.localStatus();
        const members = status.members.map(
          (m) => `${m.id}${m.voter ? '' : '(learner)'}${m.lag ? `+${m.lag}` : ''}`,
        );
        const phase = replica.discoveryPhase();
        return [
          `${id} ${status.role} term ${status.term} of ${members.join('/')}${phase ? ` ${phase}` : ''}`,
        ];
      })
      .join('; ');
  /** What keeps the grid from full replication on `members`, balanced within one, routed by all; or null. */
  const unsettled = (members: readonly string[]): string | null => {
    const table = recorded();
    if (table === null) return 'no table recorded';
    const behind = cluster.alive().filter((id) => cluster.node(id).table().epoch !== table.epoch);
    if (behind.length > 0) return `${behind.join(', ')} not routing by table ${table.epoch}`;
    const replicas = new Map(members.map((id) => [id, 0]));
    const leaderships = new Map(members.map((id) => [id, 0]));
    for (const [partition, { voters, learners, leader }] of table.partitions.entries()) {
      if (learners.length > 0 || voters.length !== REPLICAS || !voters.every((id) => members.includes(id)))
        return `partition ${partition}: voters ${voters.join(',')}, learners ${learners.join(',')} [${describeGroup(partition)}]`;
      for (const id of voters) replicas.set(id, replicas.get(id)! + 1);
      leaderships.set(leader, leaderships.get(leader)! + 1);
      if (!cluster.nodes.get(leader)?.replica(partition)?.isLeader())
        return `partition ${partition}: not led by ${leader} [${describeGroup(partition)}]`;
      for (const id of cluster.alive())
        if ((cluster.node(id).replica(partition) !== undefined) !== voters.includes(id))
          return `partition ${partition}: ${id} hosting differs from the table`;
      // The group itself, not only the table: every voter seated and caught up, so that the next fault
      // (one at a time) leaves a majority of it.
      const group = cluster.node(leader).replica(partition)!.localStatus().members;
      const seated = group.filter((m) => m.voter && m.lag === 0).map((m) => m.id);
      if (group.length !== REPLICAS || !voters.every((id) => seated.includes(id)))
        return `partition ${partition}: its group is not the table's [${describeGroup(partition)}]`;
    }
    if (spread(replicas) > 1) return `replicas unbalanced: ${JSON.stringify([...replicas])}`;
    if (spread(leaderships) > 1) return `leaderships unbalanced: ${JSON.stringify([...leaderships])}`;
    return null;
  };
  const settle = async (members: readonly string[], what: string): Promise<string | null> => {
    try {
      await cluster.runUntil(() => violation() !== null || unsettled(members) === null, what, SETTLE_MS);
    } catch (error) {
      return `liveness: ${(error as Error).message} (${unsettled(members)})`;
    }
    note(`settled: ${what}, table ${recorded()!.epoch}`);
    return violation();
  };

  let written = 0;
  const write = async (): Promise<void> => {
    const value = ++written;
    const key = `k${value}`;
    const alive = cluster.alive();
    const via = cluster.node(alive[random.int(alive.length)]!);
    try {
      await via.write(via.partitionOf('', key), { op: 'set', map: '', key, value });
      acked.set(key, value);
      note(`ack ${key} via ${via.id}`);
    } catch {
      // Not acknowledged: may or may not have been applied.
    }
  };

  for (const id of formation) grid.start(id);
  let failure = await settle(formation, 'formed');
  if (failure) return finish(failure);
  let writing = true;
  const tick = (): void => {
    if (!writing) return;
    void write();
    cluster.time.at(cluster.time.now + 50 + random.int(100), tick);
  };
  tick();

  const members = [...formation];
  // A memory-mode restart: a new incarnation, empty storage.
  const restarted = random.pick(members);
  note(`crash ${restarted}`);
  grid.crash(restarted);
  await cluster.runFor(200 + random.int(2_000));
  note(`restart ${restarted}`);
  grid.start(restarted);
  if ((failure = await settle(members, `${restarted} restarted`))) return finish(failure);

  note(`join ${joiner}`);
  grid.start(joiner, [...formation, joiner]);
  members.push(joiner);
  if ((failure = await settle(members, `${joiner} joined`))) return finish(failure);

  const drained = random.pick(members.filter((id) => id !== joiner));
  const via = random.pick(members.filter((id) => id !== drained));
  note(`drain ${drained} via ${via}`);
  members.splice(members.indexOf(drained), 1);
  try {
    await cluster.settle(
      grid.placements.get(via)!.removeMember(drained, SETTLE_MS),
      `${drained} drained`,
      SETTLE_MS,
    );
  } catch (error) {
    return finish(`liveness: ${(error as Error).message}`);
  }
  if ((failure = await settle(members, `${drained} drained`))) return finish(failure);
  note(`stop ${drained}`);
  grid.crash(drained);

  const lost = random.pick(members);
  note(`lose ${lost}`);
  grid.crash(lost);
  members.splice(members.indexOf(lost), 1);
  if ((failure = await settle(members, `${lost} replaced`))) return finish(failure);

  // With 7 members, the coordination group has promoted learners in place of the voters that left.
  const leader = cluster.alive().find((id) => cluster.node(id).coordination.isLeader());
  const voters = leader
    ? cluster
        .node(leader)
        .coordination.localStatus()
        .members.filter((m) => m.voter)
    : [];
  if (voters.length !== Math.min(MAX_COORDINATION_VOTERS, members.length))
    return finish(`coordination group has ${voters.length} voters for ${members.length} members`);

  writing = false;
  await cluster.runFor(3_000);
  const reader = cluster.node(random.pick(members));
  for (const [key, value] of acked) {
    try {
      const record = await cluster.settle(
        reader.read(reader.partitionOf('', key), '', key, 'linearizable'),
        `read ${key}`,
      );
      if (record?.value !== value)
        return finish(`lost write: ${key} reads ${String(record?.value)}, acknowledged ${value}`);
    } catch (error) {
      return finish(`liveness: ${(error as Error).message}`);
    }
  }
  note(`read back ${acked.size} acknowledged writes`);
  return finish(null);
}

function spread(counts: Map<string, number>): number {
  const values = [...counts.values()];
  return Math.max(...values) - Math.min(...values);
}
