import type { RaftNode } from '../driver/raft-node.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { CommandResult, KvCommand } from '../state-machine/commands.ts';
import type { KvRecord } from '../state-machine/kv-record.ts';
import type { BackendListOptions, BackendPage, Consistency, KeyValueBackend } from './key-value-backend.ts';

/** `partitions: 1`: every key in partition 0, held by this node's one RaftNode. */
export class SingleGroupBackend implements KeyValueBackend {
  readonly partitions = 1;
  private readonly node: RaftNode;

  constructor(node: RaftNode) {
    this.node = node;
  }

  partitionOf(): number {
    return 0;
  }

  write(_partition: number, command: KvCommand, maxValueBytes?: number): Promise<CommandResult> {
    return this.node.write(command, maxValueBytes);
  }

  async read(
    _partition: number,
    map: string,
    key: string,
    consistency: Consistency,
  ): Promise<KvRecord | undefined> {
    if (consistency === 'leader') return this.node.leaderRead(map, key);
    await this.barrier(consistency);
    return this.node.machine.get(map, key);
  }

  async list(
    _partition: number,
    map: string,
    options: BackendListOptions,
    consistency: Consistency,
  ): Promise<BackendPage> {
    await this.barrier(consistency);
    const found = this.node.machine.list(map, {
      prefix: options.prefix,
      after: options.after,
      limit: options.limit + 1,
    });
    return { entries: found.slice(0, options.limit), more: found.length > options.limit };
  }

  async size(_partition: number, map: string, consistency: Consistency): Promise<number> {
    await this.barrier(consistency);
    return this.node.machine.size(map);
  }

  peek(_partition: number, map: string, key: string): KvRecord | undefined {
    return this.node.machine.get(map, key);
  }

  private async barrier(consistency: Consistency): Promise<void> {
    if (consistency === 'linearizable') await this.node.linearizableBarrier();
    else if (consistency === 'leader') await this.node.leaderBarrier();
    else if (consistency !== 'local')
      throw new InvalidArgumentError(`unknown consistency "${String(consistency)}"`);
  }
}
