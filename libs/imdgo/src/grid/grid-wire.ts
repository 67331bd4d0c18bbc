import type { GridConsistency } from './grid-types.ts';

/**
 * The grid's own requests between nodes, on the mux's service channel (GRID_CHANNEL). Every request carries
 * the caller's table epoch: a node whose table is newer answers with it instead (`redirect`), one whose table
 * is older answers `stale`, so neither acts on a table the other has replaced.
 */
export const GRID_CHANNEL = 2 ** 20;

export type GridOp =
  | { readonly op: 'write'; readonly partition: number; readonly data: Uint8Array }
  | {
      readonly op: 'read';
      readonly partition: number;
      readonly map: string;
      readonly key: string;
      readonly consistency: GridConsistency;
    }
  | {
      readonly op: 'list';
      readonly partition: number;
      readonly map: string;
      readonly prefix?: string;
      readonly after?: string;
      readonly limit: number;
      readonly consistency: GridConsistency;
    }
  | {
      readonly op: 'size';
      readonly partition: number;
      readonly map: string;
      readonly consistency: GridConsistency;
    };

/** Operations one caller sent one node in one event-loop turn. */
export interface GridBatchRequest {
  readonly kind: 'grid-ops';
  readonly epoch: number;
  readonly ops: readonly GridOp[];
}

/** A follower's long poll: events of these partitions from these revisions, or an empty answer after `waitMs`. */
export interface GridEventsRequest {
  readonly kind: 'grid-events';
  readonly epoch: number;
  readonly polls: readonly (readonly [partition: number, from: number])[];
  readonly waitMs: number;
}

export type GridRequest = GridBatchRequest | GridEventsRequest;

/** One operation's outcome. `leader`: the group's leader as the answering replica knows it. */
export type GridOutcome =
  | { readonly ok: unknown; readonly leader: string | null }
  /** Not done; another replica (or this one, later) may do it. */
  | { readonly retry: string; readonly leader: string | null }
  /** Refused for good: the operation itself is wrong. */
  | { readonly error: string };

export type GridReply<T> =
  | { readonly answers: readonly T[] }
  /** The caller's table is older: adopt this one (encodePartitionTable) and retry. */
  | { readonly redirect: string }
  /** The caller's table is newer than this node's: ask another replica. */
  | { readonly stale: number };

export type FeedAnswer =
  | { readonly events: readonly unknown[]; readonly last: number }
  | { readonly compacted: number }
  | { readonly notHere: true };

const MAX_OPS = 10_000;
const MAX_POLLS = 65_536;
const MAX_NAME = 1 << 16;
const CONSISTENCIES: readonly unknown[] = ['linearizable', 'leader', 'local'];

/**
 * A peer's grid request if well-formed, else null: requests are untrusted input, and a malformed one is
 * refused without touching any group (as driver/wire-validation.ts does for Raft messages).
 */
export function toGridRequest(value: unknown, partitions: number): GridRequest | null {
  if (!isRecord(value) || !isCount(value.epoch)) return null;
  if (value.kind === 'grid-ops') {
    const ops = value.ops;
    if (!Array.isArray(ops) || ops.length === 0 || ops.length > MAX_OPS) return null;
    return ops.every((op) => isOp(op, partitions)) ? (value as unknown as GridBatchRequest) : null;
  }
  if (value.kind === 'grid-events') {
    const polls = value.polls;
    if (!Array.isArray(polls) || polls.length > MAX_POLLS || !isCount(value.waitMs)) return null;
    const wellFormed = polls.every(
      (poll) =>
        Array.isArray(poll) && poll.length === 2 && isPartition(poll[0], partitions) && isCount(poll[1]),
    );
    return wellFormed ? (value as unknown as GridEventsRequest) : null;
  }
  return null;
}

function isOp(value: unknown, partitions: number): boolean {
  if (!isRecord(value) || !isPartition(value.partition, partitions)) return false;
  switch (value.op) {
    case 'write':
      return value.data instanceof Uint8Array;
    case 'read':
      return isName(value.map) && isName(value.key) && CONSISTENCIES.includes(value.consistency);
    case 'list':
      return (
        isName(value.map) &&
        (value.prefix === undefined || isName(value.prefix)) &&
        (value.after === undefined || isName(value.after)) &&
        isCount(value.limit) &&
        CONSISTENCIES.includes(value.consistency)
      );
    case 'size':
      return isName(value.map) && CONSISTENCIES.includes(value.consistency);
    default:
      return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPartition(value: unknown, partitions: number): value is number {
  return isCount(value) && value < partitions;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_NAME;
}
