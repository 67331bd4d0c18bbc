export { hashTag, MAX_PARTITIONS, partitionOf } from './key-partition.ts';
export { murmur3 } from './murmur3.ts';
export { InvalidPartitionTableError, MoveNotApplicableError } from './partition-errors.ts';
export {
  createPartitionTable,
  type PartitionReplicas,
  type PartitionTable,
  tableMembers,
  validatePartitionTable,
} from './partition-table.ts';
export { decodePartitionTable, encodePartitionTable } from './partition-table-codec.ts';
export { applyMove, type MoveReason, type PlacementMove } from './placement-move.ts';
export {
  DEFAULT_DEAD_MEMBER_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_MOVES,
  DEFAULT_REPLICAS,
  type PlacementInput,
  type PlacementMember,
  type PlacementPlan,
  planPlacement,
} from './placement-planner.ts';
