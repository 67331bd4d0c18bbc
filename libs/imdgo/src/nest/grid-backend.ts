import type { GridNode } from '../grid/index.ts';
import type { CommandResult, KvCommand } from '../state-machine/commands.ts';
import type { KvRecord } from '../state-machine/kv-record.ts';
import type { BackendListOptions, BackendPage, Consistency, KeyValueBackend } from './key-value-backend.ts';

/**
 * `partitions` > 1: each call goes to its partition's group through the grid, which serves it on this
 * node's replica or routes it to one elsewhere. `peek` never leaves this node: undefined without a replica.
 */
export class GridBackend implements KeyValueBackend {
  readonly partitions: number;
  private readonly grid: GridNode;

  constructor(grid: GridNode) {
    this.grid = grid;
    this.partitions = grid.partitions;
  }

  partitionOf(map: string, key: string): number {
    return this.grid.partitionOf(map, key);
  }

  write(partition: number, command: KvCommand, maxValueBytes?: number): Promise<CommandResult> {
    return this.grid.write(partition, command, maxValueBytes);
  }

  read(partition: number, map: string, key: string, consistency: Consistency): Promise<KvRecord | undefined> {
    return this.grid.read(partition, map, key, consistency);
  }

  list(
    partition: number,
    map: string,
    options: BackendListOptions,
    consistency: Consistency,
  ): Promise<BackendPage> {
    return this.grid.list(partition, map, options, consistency);
  }

  size(partition: number, map: string, consistency: Consistency): Promise<number> {
    return this.grid.size(partition, map, consistency);
  }

  peek(partition: number, map: string, key: string): KvRecord | undefined {
    return this.grid.replica(partition)?.machine.get(map, key);
  }
}
