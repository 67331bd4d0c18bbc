import {
  applyMove,
  createPartitionTable,
  partitionOf,
  planPlacement,
  type PartitionTable,
} from '../../libs/imdgo/src/partition/index.ts';

/** How uneven a load is over the members: the most loaded member against the mean (1 = perfectly even). */
export interface Balance {
  /** Replicas (voters) a member holds. */
  readonly replicas: number;
  /** Leaderships a member holds. */
  readonly leaders: number;
  /** Keys a member holds a replica of: its memory. */
  readonly keys: number;
  /** Keys of the partitions a member leads: its share of the writes and linearizable reads. */
  readonly ledKeys: number;
}

/** How many of `keys` hash into each of `partitions` partitions (map `default`, as the demo's /kv uses). */
export function keysPerPartition(keys: readonly string[], partitions: number): number[] {
  const counts = Array.from({ length: partitions }, () => 0);
  for (const key of keys) counts[partitionOf('default', key, partitions)]!++;
  return counts;
}

/** max / mean over `members` of four loads the table puts on them, keys weighted by `keyCounts`. */
export function balanceOf(
  table: PartitionTable,
  members: readonly string[],
  keyCounts: readonly number[],
): Balance {
  const zero = () => new Map(members.map((id) => [id, 0]));
  const replicas = zero();
  const leaders = zero();
  const keys = zero();
  const ledKeys = zero();
  table.partitions.forEach((partition, index) => {
    for (const id of partition.voters) {
      add(replicas, id, 1);
      add(keys, id, keyCounts[index]!);
    }
    add(leaders, partition.leader, 1);
    add(ledKeys, partition.leader, keyCounts[index]!);
  });
  return {
    replicas: maxOverMean(replicas),
    leaders: maxOverMean(leaders),
    keys: maxOverMean(keys),
    ledKeys: maxOverMean(ledKeys),
  };
}

function add(loads: Map<string, number>, id: string, by: number): void {
  loads.set(id, (loads.get(id) ?? 0) + by);
}

export function maxOverMean(loads: ReadonlyMap<string, number>): number {
  const values = [...loads.values()];
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return mean === 0 ? 1 : Math.max(...values) / mean;
}

/**
 * The table placement arrives at when a grid formed on `from` members grows one member at a time to `to`,
 * carrying out every planned move until the planner has none left (as the metadata leader would).
 */
export function grownTable(partitions: number, replicas: number, from: number, to: number): PartitionTable {
  const ids = Array.from({ length: to }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
  let table = createPartitionTable(partitions, ids.slice(0, from), replicas);
  for (let size = from; size <= to; size++) {
    const members = ids.slice(0, size).map((id) => ({ id, state: 'active' as const }));
    for (let step = 0; ; step++) {
      if (step > 100_000) throw new Error(`placement did not settle for ${partitions} partitions on ${size}`);
      const { moves } = planPlacement({ members, table, nowMs: 0, replicas, maxConcurrentMoves: partitions });
      if (moves.length === 0) break;
      for (const move of moves) table = applyMove(table, move);
    }
  }
  return table;
}
