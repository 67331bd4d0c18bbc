import type { PartitionTable } from '../../partition/partition-table.ts';
import type { PlacementMove } from '../../partition/placement-move.ts';
import type { NodeId } from '../../raft/types.ts';

/** What an executor may need to know besides the move: the table it was planned on, members' processes. */
export interface MoveContext {
  readonly table: PartitionTable;
  /** The current incarnation of a member (a learner is added as that process), if known. */
  readonly incarnationOf: (id: NodeId) => string | undefined;
}

/**
 * Carries out one placement move on its partition's Raft group, through the group's leader, with the
 * group's own single-server changes. Resolves once the group's change has committed (or the group already
 * was so: a move retried after an unknown outcome); rejects when it could not be done, in which case the
 * table is left as it was and placement plans again.
 */
export interface MoveExecutor {
  execute(move: PlacementMove, context: MoveContext): Promise<void>;
}
