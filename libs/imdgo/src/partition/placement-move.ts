import type { NodeId } from '../raft/types.ts';
import { MoveNotApplicableError } from './partition-errors.ts';
import type { PartitionReplicas, PartitionTable } from './partition-table.ts';

/** Why placement wants a move (for operators and metrics; it does not change what the move does). */
export type MoveReason =
  | 'repair' // a replica is missing: too few, or one sits on a member dead past the timeout
  | 'drain' // a replica sits on a member being removed
  | 'shrink' // more voters than the target replica count
  | 'balance' // replica counts per member differ by more than one
  | 'leader-evacuate' // the preferred leader is not an active member
  | 'leader-balance'; // leadership counts per member differ by more than one

/**
 * One single-server step on one partition's group. A replica moves as add-learner (it catches up), promote,
 * then remove of the old voter, so the voter set changes by one member at a time.
 */
export type PlacementMove =
  | {
      readonly type: 'add-learner';
      readonly partition: number;
      readonly member: NodeId;
      readonly reason: MoveReason;
    }
  | {
      readonly type: 'promote';
      readonly partition: number;
      readonly member: NodeId;
      readonly reason: MoveReason;
    }
  | {
      readonly type: 'remove';
      readonly partition: number;
      readonly member: NodeId;
      readonly reason: MoveReason;
    }
  | {
      readonly type: 'transfer-leader';
      readonly partition: number;
      readonly from: NodeId;
      readonly to: NodeId;
      readonly reason: MoveReason;
    };

/**
 * The table after `move` has been carried out on its group, with the next epoch. Throws MoveNotApplicableError
 * when the move does not fit the table (e.g. it was planned against an older one); the table is unchanged.
 */
export function applyMove(table: PartitionTable, move: PlacementMove): PartitionTable {
  const current = table.partitions[move.partition];
  const fail = (reason: string): never => {
    throw new MoveNotApplicableError(`${move.type} on partition ${move.partition}: ${reason}`);
  };
  if (current === undefined) return fail(`the table has ${table.partitions.length} partitions`);
  const { voters, learners, leader } = current;
  let next: PartitionReplicas;
  switch (move.type) {
    case 'add-learner':
      if (voters.includes(move.member) || learners.includes(move.member))
        fail(`${move.member} is already a replica`);
      next = { voters, learners: [...learners, move.member], leader };
      break;
    case 'promote':
      if (!learners.includes(move.member)) fail(`${move.member} is not a learner`);
      next = {
        voters: [...voters, move.member],
        learners: learners.filter((id) => id !== move.member),
        leader,
      };
      break;
    case 'remove':
      if (move.member === leader) fail(`${move.member} is the preferred leader; transfer leadership first`);
      if (!voters.includes(move.member) && !learners.includes(move.member))
        fail(`${move.member} is not a replica`);
      next = {
        voters: voters.filter((id) => id !== move.member),
        learners: learners.filter((id) => id !== move.member),
        leader,
      };
      break;
    case 'transfer-leader':
      if (move.from !== leader) fail(`the preferred leader is ${leader}, not ${move.from}`);
      if (!voters.includes(move.to)) fail(`${move.to} is not a voter`);
      if (move.to === leader) fail(`${move.to} already leads`);
      next = { voters, learners, leader: move.to };
      break;
    default:
      return fail('unknown move type');
  }
  const partitions = [...table.partitions];
  partitions[move.partition] = next;
  return { epoch: table.epoch + 1, partitions };
}
