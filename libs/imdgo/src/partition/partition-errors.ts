import { ImdgoError } from '../errors.ts';

/** A partition table that breaks a rule (decoded from a peer, or built wrongly): it is never used. */
export class InvalidPartitionTableError extends ImdgoError {
  constructor(reason: string) {
    super('INVALID_PARTITION_TABLE', `invalid partition table: ${reason}`);
  }
}

/** A placement move that no longer fits the table (it changed since the move was planned): plan again. */
export class MoveNotApplicableError extends ImdgoError {
  constructor(reason: string) {
    super('MOVE_NOT_APPLICABLE', `placement move not applicable: ${reason}`);
  }
}
