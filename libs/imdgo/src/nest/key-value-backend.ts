import type { CommandResult, KvCommand } from '../state-machine/commands.ts';
import type { KvRecord } from '../state-machine/kv-record.ts';

/**
 * - `linearizable` (default): sees every write acknowledged before the call, on any node (ReadIndex).
 * - `leader`: served from the leader's memory without a quorum round, once it has applied an entry of its
 *   own term; can be stale while a deposed leader still believes it leads.
 * - `local`: this node's memory, at once; may lag the leader.
 */
export type Consistency = 'linearizable' | 'leader' | 'local';

export interface BackendListOptions {
  readonly prefix?: string;
  readonly after?: string;
  readonly limit: number;
}

export interface BackendPage {
  /** Up to `limit` entries in key order. */
  readonly entries: [string, KvRecord][];
  /** Whether the partition holds more entries after the last one. */
  readonly more: boolean;
}

/**
 * Everything the Nest layer asks of the data, per partition: the single RaftNode for `partitions: 1`
 * (partition 0, today's path and wire), the grid's routing otherwise. Locks, sessions and elections do not
 * go through here: they live in the coordination group (ImdgoRuntime.coordination).
 */
export interface KeyValueBackend {
  readonly partitions: number;
  partitionOf(map: string, key: string): number;
  write(partition: number, command: KvCommand, maxValueBytes?: number): Promise<CommandResult>;
  read(partition: number, map: string, key: string, consistency: Consistency): Promise<KvRecord | undefined>;
  list(
    partition: number,
    map: string,
    options: BackendListOptions,
    consistency: Consistency,
  ): Promise<BackendPage>;
  size(partition: number, map: string, consistency: Consistency): Promise<number>;
  /** This node's replica of the key right now, or undefined when it has none (no network). */
  peek(partition: number, map: string, key: string): KvRecord | undefined;
}
