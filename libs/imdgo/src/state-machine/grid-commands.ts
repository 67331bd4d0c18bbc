import type { PlacementMove } from '../partition/placement-move.ts';

/** Change events of the grid's metadata carry this `map`; `key` is `table` or `member:<id>`. */
export const GRID_SPACE = 'imdgo:grid';

/** A member as formation lists it. */
export interface GridMemberSpec {
  readonly id: string;
  readonly incarnation: string;
  readonly address: string;
}

/**
 * Commands of the coordination group (group 0): the grid's members and its partition table. Every one is
 * applied by the log alone; time enters only through the entry's log time (e.g. a member's `deadSince`).
 */
export type GridCommand =
  /**
   * Formation: the first table (encoded, see partition-table-codec.ts) and its members, all active. A
   * member's incarnation may be '' (not known to the node forming the grid): its first join announces it.
   */
  | {
      readonly op: 'grid-init';
      readonly table: string;
      readonly replicas: number;
      readonly members: readonly GridMemberSpec[];
    }
  /** A member (or a new incarnation of one: a memory-mode restart) asks to host replicas. */
  | ({ readonly op: 'grid-join' } & GridMemberSpec)
  /** A joined member is ready: placement may give it replicas. */
  | { readonly op: 'grid-activate'; readonly id: string; readonly incarnation: string }
  /** `removeMember`: placement moves every replica off the member, then it may leave. */
  | { readonly op: 'grid-drain'; readonly id: string }
  /** The coordination leader's failure detector: unreachable since this entry's log time, or back. */
  | { readonly op: 'grid-mark-dead' | 'grid-mark-alive'; readonly id: string; readonly incarnation: string }
  /** A move carried out on its partition's group, recorded against the table epoch it was checked with. */
  | { readonly op: 'grid-move-applied'; readonly move: PlacementMove; readonly epoch: number };

export const GRID_OPERATIONS: readonly string[] = [
  'grid-init',
  'grid-join',
  'grid-activate',
  'grid-drain',
  'grid-mark-dead',
  'grid-mark-alive',
  'grid-move-applied',
];

const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function memberSpecProblem(spec: Record<string, unknown>, unannounced = false): string | null {
  if (!isName(spec.id)) return 'the member id is not a non-empty string';
  if (!isName(spec.incarnation) && !(unannounced && spec.incarnation === ''))
    return 'the incarnation is not a non-empty string';
  if (typeof spec.address !== 'string') return 'the address is not a string';
  return null;
}

function moveProblem(move: unknown): string | null {
  if (typeof move !== 'object' || move === null) return 'the move is not an object';
  const m = move as Record<string, unknown>;
  if (!Number.isInteger(m.partition) || (m.partition as number) < 0) return 'the move names no partition';
  switch (m.type) {
    case 'add-learner':
    case 'promote':
    case 'remove':
      return isName(m.member) ? null : 'the move names no member';
    case 'transfer-leader':
      return isName(m.from) && isName(m.to) ? null : 'the transfer names no members';
    default:
      return `unknown move type ${String(m.type)}`;
  }
}

/** Why `command` (an untrusted grid command from a peer) cannot be applied, or null when it can. */
export function gridCommandProblem(command: Record<string, unknown>): string | null {
  switch (command.op) {
    case 'grid-init':
      if (typeof command.table !== 'string') return 'the table is not a string';
      if (!Number.isInteger(command.replicas) || (command.replicas as number) < 1)
        return 'replicas is not a positive integer';
      if (!Array.isArray(command.members)) return 'members is not an array';
      for (const spec of command.members as unknown[]) {
        if (typeof spec !== 'object' || spec === null) return 'a member is not an object';
        const problem = memberSpecProblem(spec as Record<string, unknown>, true);
        if (problem) return problem;
      }
      return null;
    case 'grid-join':
      return memberSpecProblem(command);
    case 'grid-activate':
      if (!isName(command.id)) return 'the member id is not a non-empty string';
      return isName(command.incarnation) ? null : 'the incarnation is not a non-empty string';
    case 'grid-mark-dead':
    case 'grid-mark-alive':
      // '' names a formation member that has not announced its process (it may die before it does).
      if (!isName(command.id)) return 'the member id is not a non-empty string';
      return typeof command.incarnation === 'string' ? null : 'the incarnation is not a string';
    case 'grid-drain':
      return isName(command.id) ? null : 'the member id is not a non-empty string';
    case 'grid-move-applied':
      if (!Number.isSafeInteger(command.epoch)) return 'the epoch is not an integer';
      return moveProblem(command.move);
    default:
      return `unknown grid operation ${String(command.op)}`;
  }
}
