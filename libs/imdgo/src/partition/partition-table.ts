import type { NodeId } from '../raft/types.ts';
import { MAX_PARTITIONS } from './key-partition.ts';
import { InvalidPartitionTableError } from './partition-errors.ts';

/** Where one partition's Raft group lives. */
export interface PartitionReplicas {
  readonly voters: readonly NodeId[];
  /** Replicas being built (catching up before promotion); they do not vote. */
  readonly learners: readonly NodeId[];
  /** The voter placement wants to lead the group; the group's actual leader may differ for a while. */
  readonly leader: NodeId;
}

/** Partition index → replicas. `epoch` grows by one on every change, so a newer table is always recognisable. */
export interface PartitionTable {
  readonly epoch: number;
  readonly partitions: readonly PartitionReplicas[];
}

/** Throws InvalidPartitionTableError naming the first broken rule. */
export function validatePartitionTable(table: PartitionTable): void {
  if (!Number.isSafeInteger(table.epoch) || table.epoch < 1) {
    throw new InvalidPartitionTableError(`epoch must be a positive integer, got ${table.epoch}`);
  }
  const count = table.partitions.length;
  if (count < 1 || count > MAX_PARTITIONS) {
    throw new InvalidPartitionTableError(`it must have 1 to ${MAX_PARTITIONS} partitions, got ${count}`);
  }
  table.partitions.forEach((replicas, partition) => {
    const fail = (reason: string) => {
      throw new InvalidPartitionTableError(`partition ${partition}: ${reason}`);
    };
    if (replicas.voters.length === 0) fail('it has no voter');
    const seen = new Set<NodeId>();
    for (const id of [...replicas.voters, ...replicas.learners]) {
      if (typeof id !== 'string' || id.length === 0)
        fail(`member ids must be non-empty strings, got ${String(id)}`);
      if (seen.has(id)) fail(`${id} is listed twice`);
      seen.add(id);
    }
    if (!replicas.voters.includes(replicas.leader))
      fail(`its leader ${replicas.leader} is not one of its voters`);
  });
}

/**
 * The first table of a grid: replica slots dealt round-robin over `members` (so replica counts differ by at
 * most one), each partition led by its voter with the fewest leaderships so far. `replicas` is capped at the
 * member count.
 */
export function createPartitionTable(
  partitions: number,
  members: readonly NodeId[],
  replicas: number,
): PartitionTable {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new InvalidPartitionTableError(`replicas must be a positive integer, got ${replicas}`);
  }
  if (members.length === 0) throw new InvalidPartitionTableError('it needs at least one member');
  if (new Set(members).size !== members.length)
    throw new InvalidPartitionTableError('members are listed twice');
  const perPartition = Math.min(replicas, members.length);
  const leaderships = new Map<NodeId, number>(members.map((id) => [id, 0]));
  const table: PartitionTable = {
    epoch: 1,
    partitions: Array.from({ length: partitions }, (_, partition) => {
      const voters = Array.from(
        { length: perPartition },
        (_unused, slot) => members[(partition * perPartition + slot) % members.length]!,
      );
      const leader = voters.reduce((best, id) => (leaderships.get(id)! < leaderships.get(best)! ? id : best));
      leaderships.set(leader, leaderships.get(leader)! + 1);
      return { voters, learners: [], leader };
    }),
  };
  validatePartitionTable(table);
  return table;
}

/** Every member holding a replica (voter or learner) of some partition, in first-seen order. */
export function tableMembers(table: PartitionTable): NodeId[] {
  const members = new Set<NodeId>();
  for (const { voters, learners } of table.partitions)
    for (const id of [...voters, ...learners]) members.add(id);
  return [...members];
}
