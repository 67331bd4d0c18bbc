import type { ImdgoHistoryEvent } from '../../src/checker/index.ts';
import { BusyError, InvalidArgumentError, ValueTooLargeError } from '../../src/errors.ts';
import type { GridNode } from '../../src/grid/grid-node.ts';
import type { GridConsistency } from '../../src/grid/grid-types.ts';
import type { SeededRandom } from '../../src/raft/random.ts';
import { DEFAULT_MAP, type CommandResult, type KvCommand } from '../../src/state-machine/commands.ts';

/** Keys the linearizability checker reads: spread over the partitions by their hash. */
export const GRID_KEYS = Array.from({ length: 12 }, (_, i) => `k${i}`);
const COUNTERS = ['c0', 'c1'];

/** A write the grid acknowledged, which every node's change feed must show. */
export interface AcknowledgedWrite {
  readonly partition: number;
  readonly key: string;
  readonly revision: number;
}

export interface GridWorkloadHost {
  /** Running nodes, by id. */
  reachable(): readonly GridNode[];
  sleep(ms: number): Promise<void>;
  within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'>;
  log(text: string): void;
}

/**
 * Closed-loop clients of GridNode on random nodes (replica of the key's partition or not): linearizable
 * reads, set/delete/cas/putIfAbsent checked for linearizability per key, exactly-once increments, and
 * leader and local reads (unchecked values: their freshness is weaker by definition).
 */
export class GridWorkload {
  readonly history: ImdgoHistoryEvent[] = [];
  readonly acknowledged: AcknowledgedWrite[] = [];
  readonly increments = new Map<string, { acknowledged: number[]; unknown: number }>();
  completed = 0;
  unknown = 0;
  private stopped = false;
  private nextValue = 1;
  private readonly recent = new Map<string, number[]>();
  private readonly running: Promise<void>[] = [];
  private readonly random: SeededRandom;
  private readonly host: GridWorkloadHost;
  private readonly timeoutMs: number;

  constructor(random: SeededRandom, host: GridWorkloadHost, timeoutMs: number) {
    this.random = random;
    this.host = host;
    this.timeoutMs = timeoutMs;
  }

  start(clients: number): void {
    for (let i = 0; i < clients; i++) this.running.push(this.client(i, clients));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  private async client(index: number, count: number): Promise<void> {
    let process = index;
    await this.host.sleep(this.random.int(50));
    while (!this.stopped) {
      const nodes = this.host.reachable();
      if (nodes.length > 0) {
        const known = await this.operation(process, this.random.pick(nodes));
        if (!known) process += count;
      }
      await this.host.sleep(1 + this.random.int(30));
    }
  }

  private async operation(process: number, node: GridNode): Promise<boolean> {
    const roll = this.random.int(100);
    const key = this.random.pick(GRID_KEYS);
    const partition = node.partitionOf(DEFAULT_MAP, key);
    if (roll < 30) return this.linearizableGet(process, node, key);
    if (roll < 38) {
      const consistency: GridConsistency = roll < 34 ? 'leader' : 'local';
      await this.settle(node.read(partition, DEFAULT_MAP, key, consistency));
      return true;
    }
    if (roll < 60) {
      const value = this.fresh(key);
      return this.write(process, node, { f: 'set', key, value }, { op: 'set', key, value });
    }
    if (roll < 65) return this.write(process, node, { f: 'delete', key }, { op: 'delete', key });
    if (roll < 80) {
      const options = this.recent.get(key) ?? [];
      const expected = options.length === 0 || this.random.chance(0.2) ? null : this.random.pick(options);
      const value = this.fresh(key);
      return this.write(
        process,
        node,
        { f: 'cas', key, value: [expected, value] },
        { op: 'cas', key, expected, value },
      );
    }
    if (roll < 88) {
      const value = this.fresh(key);
      return this.write(
        process,
        node,
        { f: 'cas', key, value: [null, value] },
        { op: 'set', key, value, ifAbsent: true },
      );
    }
    return this.increment(node, this.random.pick(COUNTERS));
  }

  /** Exactly once: distinct acknowledged values, and a final value within acknowledged + unknown. */
  checkIncrements(finalValue: (key: string) => number): string | null {
    for (const [key, { acknowledged, unknown }] of this.increments) {
      if (new Set(acknowledged).size !== acknowledged.length)
        return `increment of ${key}: two acknowledged increments returned the same value`;
      const value = finalValue(key);
      if (value < acknowledged.length || value > acknowledged.length + unknown)
        return `increment of ${key}: ends at ${value} after ${acknowledged.length} acknowledged and ${unknown} unknown`;
    }
    return null;
  }

  private fresh(key: string): number {
    const value = this.nextValue++;
    const recent = this.recent.get(key) ?? [];
    recent.push(value);
    if (recent.length > 4) recent.shift();
    this.recent.set(key, recent);
    return value;
  }

  private record(node: GridNode, event: ImdgoHistoryEvent): void {
    this.history.push(event);
    const value = 'value' in event ? ` ${JSON.stringify(event.value)}` : '';
    this.host.log(`client ${event.process} ${event.type} ${event.f} ${event.key}${value} via ${node.id}`);
  }

  private async linearizableGet(process: number, node: GridNode, key: string): Promise<boolean> {
    this.record(node, { process, type: 'invoke', f: 'get', key });
    const partition = node.partitionOf(DEFAULT_MAP, key);
    const outcome = await this.settle(node.read(partition, DEFAULT_MAP, key, 'linearizable'));
    if (outcome.kind === 'ok') {
      this.record(node, { process, type: 'ok', f: 'get', key, value: outcome.value?.value ?? null });
      this.completed++;
    } else {
      this.record(node, { process, type: 'fail', f: 'get', key });
    }
    return true;
  }

  private async write(
    process: number,
    node: GridNode,
    op: Pick<ImdgoHistoryEvent, 'f' | 'key' | 'value'>,
    command: KvCommand & { key: string },
  ): Promise<boolean> {
    const invoke: ImdgoHistoryEvent = { process, type: 'invoke', ...op };
    this.record(node, invoke);
    const partition = node.partitionOf(DEFAULT_MAP, command.key);
    const outcome = await this.settle(node.write(partition, command));
    if (outcome.kind === 'refused') {
      this.history.splice(this.history.lastIndexOf(invoke), 1);
      return true;
    }
    if (outcome.kind === 'ok') {
      this.record(node, { process, type: outcome.value.applied ? 'ok' : 'fail', ...op });
      if (outcome.value.applied) this.acknowledge(partition, command.key, outcome.value);
      this.completed++;
      return true;
    }
    this.unknown++;
    this.record(node, { process, type: 'info', ...op });
    return false;
  }

  private acknowledge(partition: number, key: string, result: CommandResult): void {
    this.acknowledged.push({ partition, key, revision: result.revision });
  }

  private async increment(node: GridNode, key: string): Promise<boolean> {
    const counter = this.increments.get(key) ?? { acknowledged: [], unknown: 0 };
    this.increments.set(key, counter);
    counter.unknown++;
    const partition = node.partitionOf(DEFAULT_MAP, key);
    const outcome = await this.settle(node.write(partition, { op: 'increment', key, delta: 1 }));
    if (outcome.kind === 'unknown') return true;
    counter.unknown--;
    if (outcome.kind === 'ok' && outcome.value.applied) {
      counter.acknowledged.push(outcome.value.value as number);
      this.acknowledge(partition, key, outcome.value);
    }
    return true;
  }

  private async settle<T>(
    call: Promise<T>,
  ): Promise<{ kind: 'ok'; value: T } | { kind: 'refused' } | { kind: 'unknown' }> {
    try {
      const value = await this.host.within(call, this.timeoutMs);
      return value === 'timeout' ? { kind: 'unknown' } : { kind: 'ok', value };
    } catch (error) {
      if (
        error instanceof BusyError ||
        error instanceof InvalidArgumentError ||
        error instanceof ValueTooLargeError
      ) {
        return { kind: 'refused' };
      }
      return { kind: 'unknown' };
    }
  }
}
