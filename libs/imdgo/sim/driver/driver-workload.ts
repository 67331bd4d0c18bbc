import type { ImdgoHistoryEvent } from '../../src/checker/index.ts';
import type { RaftNode } from '../../src/driver/raft-node.ts';
import { BusyError, InvalidArgumentError, StoreFullError, ValueTooLargeError } from '../../src/errors.ts';
import type { SeededRandom } from '../../src/raft/random.ts';
import type { NodeId } from '../../src/raft/types.ts';
import { DEFAULT_MAP, type KvCommand } from '../../src/state-machine/commands.ts';

/** A running node process as the clients see it. */
export interface ClientTarget {
  readonly id: NodeId;
  readonly node: RaftNode;
  /** Identifies the process, so that local reads are compared only within one. */
  readonly incarnation: string;
  now(): number;
}

/** What the clients need from the simulation. */
export interface WorkloadHost {
  /** The node processes up and not paused now. */
  reachable(): readonly ClientTarget[];
  /** Resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void>;
  log(text: string): void;
  /** Settles like `promise`, or with 'timeout' after `ms` of virtual time. */
  within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'>;
}

/** A read that is checked outside the linearizability checker (local and leader reads). */
interface UncheckedRead {
  readonly consistency: 'local' | 'leader';
  readonly key: string;
  readonly value: unknown;
}

/** Keys whose history the linearizability checker reads. */
const REGISTER_KEYS = ['k0', 'k1', 'k2', 'k3'];
/** Counters for exactly-once increments. */
const COUNTER_KEYS = ['c0', 'c1'];
/** TTL'd and version-conditioned keys: checked by replica convergence only. */
const TTL_KEYS = ['t0', 't1', 't2'];
const VERSION_KEYS = ['v0'];

/**
 * Closed-loop clients of the production API on random nodes: writes of every kind through
 * `RaftNode.write`, linearizable reads (ReadIndex barrier, then the machine), leader reads and local
 * reads. A write whose outcome is unknown is recorded `info`, and the client goes on as a new process.
 */
export class DriverWorkload {
  readonly history: ImdgoHistoryEvent[] = [];
  readonly uncheckedReads: UncheckedRead[] = [];
  readonly increments = new Map<string, { acknowledged: number[]; unknown: number }>();
  completed = 0;
  unknown = 0;
  violation: string | null = null;
  private stopped = false;
  private nextValue = 1;
  private readonly recent = new Map<string, unknown[]>();
  /** Per process and key, the highest revision a local read returned: it must never go back. */
  private readonly localRevisions = new Map<string, number>();
  private readonly random: SeededRandom;
  private readonly host: WorkloadHost;
  private readonly timeoutMs: number;
  private running: Promise<void>[] = [];

  constructor(random: SeededRandom, host: WorkloadHost, timeoutMs: number) {
    this.random = random;
    this.host = host;
    this.timeoutMs = timeoutMs;
  }

  start(clients: number): void {
    for (let i = 0; i < clients; i++) this.running.push(this.client(i, clients));
  }

  /** Clients finish their current operation and start no new one. */
  stop(): void {
    this.stopped = true;
  }

  private async client(index: number, count: number): Promise<void> {
    let process = index;
    await this.host.sleep(this.random.int(50));
    while (!this.stopped) {
      const targets = this.host.reachable();
      if (targets.length > 0) {
        const target = this.random.pick(targets);
        const known = await this.operation(process, target);
        if (!known) process += count;
      }
      await this.host.sleep(1 + this.random.int(30));
    }
  }

  /** One operation; false when its outcome is unknown (the process id is then retired). */
  private async operation(process: number, target: ClientTarget): Promise<boolean> {
    const roll = this.random.int(100);
    const key = this.random.pick(REGISTER_KEYS);
    if (roll < 25) return this.linearizableGet(process, target, key);
    if (roll < 30) return this.uncheckedGet(target, key, 'local');
    if (roll < 35) return this.uncheckedGet(target, key, 'leader');
    if (roll < 55) {
      const value = this.fresh(key);
      return this.checkedWrite(process, target, { f: 'set', key, value }, { op: 'set', key, value });
    }
    if (roll < 60) return this.checkedWrite(process, target, { f: 'delete', key }, { op: 'delete', key });
    if (roll < 70) {
      const options = this.recent.get(key) ?? [];
      const expected = options.length === 0 || this.random.chance(0.2) ? null : this.random.pick(options);
      const value = this.fresh(key);
      return this.checkedWrite(
        process,
        target,
        { f: 'cas', key, value: [expected, value] },
        { op: 'cas', key, expected, value },
      );
    }
    if (roll < 75) {
      // putIfAbsent is a compare-and-set from absent (no value written is ever null).
      const value = this.fresh(key);
      return this.checkedWrite(
        process,
        target,
        { f: 'cas', key, value: [null, value] },
        { op: 'set', key, value, ifAbsent: true },
      );
    }
    if (roll < 85) return this.increment(target, this.random.pick(COUNTER_KEYS));
    if (roll < 95) {
      const ttlMs = this.random.pick([1, 50, 300, 2000]);
      const command: KvCommand = {
        op: 'set',
        key: this.random.pick(TTL_KEYS),
        value: this.nextValue++,
        ttlMs,
      };
      return this.uncheckedWrite(target, command);
    }
    const versionKey = this.random.pick(VERSION_KEYS);
    return this.uncheckedWrite(target, {
      op: 'set',
      key: versionKey,
      value: this.nextValue++,
      ifVersion: this.random.int(4),
    });
  }

  /**
   * Exactly-once increments: every acknowledged increment of a counter saw a value of its own, and the
   * counter ends between the acknowledged count and that plus the increments whose outcome is unknown.
   */
  checkIncrements(finalValue: (key: string) => number): string | null {
    for (const [key, { acknowledged, unknown }] of this.increments) {
      if (new Set(acknowledged).size !== acknowledged.length)
        return `increment of ${key}: two acknowledged increments returned the same value`;
      const value = finalValue(key);
      if (value < acknowledged.length || value > acknowledged.length + unknown)
        return `increment of ${key}: ends at ${value} after ${acknowledged.length} acknowledged and ${unknown} unknown increments`;
    }
    return null;
  }

  private record(target: ClientTarget, event: ImdgoHistoryEvent): void {
    this.history.push(event);
    const value = 'value' in event ? ` ${JSON.stringify(event.value)}` : '';
    this.host.log(`client ${event.process} ${event.type} ${event.f} ${event.key}${value} via ${target.id}`);
  }

  private fresh(key: string): number {
    const value = this.nextValue++;
    const recent = this.recent.get(key) ?? [];
    recent.push(value);
    if (recent.length > 4) recent.shift();
    this.recent.set(key, recent);
    return value;
  }

  private async linearizableGet(process: number, target: ClientTarget, key: string): Promise<boolean> {
    this.record(target, { process, type: 'invoke', f: 'get', key });
    const read = async (): Promise<unknown> => {
      await target.node.linearizableBarrier();
      return target.node.machine.get(DEFAULT_MAP, key)?.value ?? null;
    };
    const outcome = await this.settle(read());
    if (outcome.kind === 'ok') {
      this.record(target, { process, type: 'ok', f: 'get', key, value: outcome.value });
      this.completed++;
    } else {
      // A read changes nothing, whatever happened to it.
      this.record(target, { process, type: 'fail', f: 'get', key });
    }
    return true;
  }

  private async uncheckedGet(
    target: ClientTarget,
    key: string,
    consistency: 'local' | 'leader',
  ): Promise<boolean> {
    if (consistency === 'local') {
      const record = target.node.machine.get(DEFAULT_MAP, key);
      this.uncheckedReads.push({ consistency, key, value: record?.value ?? null });
      const processKey = `${target.incarnation}/${key}`;
      const revision = record?.modRevision ?? 0;
      const seen = this.localRevisions.get(processKey) ?? 0;
      if (record && revision < seen)
        this.violation ??= `local read went back: ${target.id} read ${key} at revision ${revision} after ${seen}`;
      this.localRevisions.set(processKey, Math.max(seen, revision));
      return true;
    }
    const outcome = await this.settle(target.node.leaderRead(DEFAULT_MAP, key));
    if (outcome.kind === 'ok')
      this.uncheckedReads.push({ consistency, key, value: outcome.value?.value ?? null });
    return true;
  }

  private async checkedWrite(
    process: number,
    target: ClientTarget,
    op: Pick<ImdgoHistoryEvent, 'f' | 'key' | 'value'>,
    command: KvCommand,
  ): Promise<boolean> {
    const invoke: ImdgoHistoryEvent = { process, type: 'invoke', ...op };
    this.record(target, invoke);
    const outcome = await this.settle(target.node.write(command));
    const refused =
      outcome.kind === 'refused' || (outcome.kind === 'ok' && outcome.value.refusal !== undefined);
    if (refused) {
      // Certainly without effect (the memory cap, overload): the call leaves the history. (A failed cas
      // would say the value differed.)
      this.history.splice(this.history.lastIndexOf(invoke), 1);
      this.host.log(`client ${process} refused ${op.f} ${op.key}`);
      return true;
    }
    if (outcome.kind === 'ok') {
      this.record(target, { process, type: outcome.value.applied ? 'ok' : 'fail', ...op });
      this.completed++;
      return true;
    }
    this.unknown++;
    this.record(target, { process, type: 'info', ...op });
    return false;
  }

  private async increment(target: ClientTarget, key: string): Promise<boolean> {
    const counter = this.increments.get(key) ?? { acknowledged: [], unknown: 0 };
    this.increments.set(key, counter);
    // Unknown until it answers: the run may end with it in flight, and applied.
    counter.unknown++;
    // The driver retries a lost reply with the same session stamp: it must count once.
    const outcome = await this.settle(target.node.write({ op: 'increment', key, delta: 1 }));
    if (outcome.kind === 'unknown') return true;
    counter.unknown--;
    if (outcome.kind === 'ok' && outcome.value.applied)
      counter.acknowledged.push(outcome.value.value as number);
    return true;
  }

  private async uncheckedWrite(target: ClientTarget, command: KvCommand): Promise<boolean> {
    await this.settle(target.node.write(command));
    return true;
  }

  /** A call's outcome: done, certainly not done (refused), or unknown (timed out, node gone). */
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
        error instanceof ValueTooLargeError ||
        error instanceof StoreFullError
      ) {
        return { kind: 'refused' };
      }
      return { kind: 'unknown' };
    }
  }
}
