import type { NodeId } from '../../raft/types.ts';
import type { CommandResult } from '../../state-machine/commands.ts';
import type { GridCommand } from '../../state-machine/grid-commands.ts';
import type { GridMeta } from '../../state-machine/grid-meta.ts';

/** What the placement loop needs of the coordination group (group 0) on its node. */
export interface Coordination {
  /** Whether this node leads the coordination group now. */
  isLeader(): boolean;
  /** The metadata as applied on this node. */
  meta(): GridMeta;
  /** Replicates a grid command and resolves with its result once applied here. */
  propose(command: GridCommand): Promise<CommandResult>;
  /**
   * Milliseconds since this node (as coordination leader) last heard from `id`'s process as the metadata
   * records it, or null if it has not since it became leader: the failure detector's only input.
   */
  silenceMs(id: NodeId): number | null;
  /** Members of the coordination group's own configuration (voters and learners). */
  groupMembers(): readonly NodeId[];
  /** Takes a member that left the grid out of the coordination group (a single-server removal). */
  removeFromGroup(id: NodeId): Promise<void>;
}
