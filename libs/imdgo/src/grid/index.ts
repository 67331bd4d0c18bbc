export { decodeGridCursor, encodeGridCursor, type GridCursor, GridPosition } from './grid-cursor.ts';
export {
  COORDINATION_GROUP,
  GridNode,
  type GridListOptions,
  type GridListPage,
  groupOf,
  MAX_COORDINATION_VOTERS,
} from './grid-node.ts';
export type {
  GridChangeEvent,
  GridConsistency,
  GridGroupTuning,
  GridNodeOptions,
  GridPartitionStatus,
} from './grid-types.ts';
