import type { ImdgoHistoryEvent } from '../../src/checker/index.ts';
import type { RaftNode } from '../../src/driver/raft-node.ts';
import {
  BusyError,
  InvalidArgumentError,
  StoreFullError,
  UpdateConflictError,
  ValueTooLargeError,
} from '../../src/errors.ts';
import { updateKey, type VersionedAccess } from '../../src/nest/update.ts';
import type { SeededRandom } from '../../src/raft/random.ts';
import type { NodeId } from '../../src/raft/types.ts';
import { DEFAULT_MAP, type CommandResult, type KvCommand } from '../../src/state-machine/commands.ts';
import { RegisterValues, type RegisterWriteKind } from './register-writes.ts';

/** A running node process as the clients see it. */
export interface ClientTarget {
  readonly id: NodeId;
  readonly node: RaftNode;
  /** Identifies the process, so that local reads are compared only within one. */
  readonly incarnation: string;
  now(): number;
  /** Whether its process still runs: a crashed one's calls never settle, as with a real process. */
  alive(): boolean;
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
  /** The run's virtual time in ms, one for all processes (their clocks may jump). */
  virtualNow(): number;
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
 * Two keys only transactions write, always together: the checker sees them as one register `pair` whose
 * value is [a, b] (null while both are absent), so a torn or lost transaction is a linearizability violation.
 */
const PAIR = { history: 'pair', keys: ['p:a', 'p:b'], refused: 'p:refused' } as const;
/** Counters written only by `update` (read, compute, setIfVersion, retry): checked like increments. */
const UPDATE_KEYS = ['u0'];

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
  private readonly values = new RegisterValues();
  /** Per process and key, the highest revision a local read returned: it must never go back. */
  private readonly localRevisions = new Map<string, number>();
  private readonly random: SeededRandom;
  private readonly host: WorkloadHost;
  private readonly timeoutMs: number;
  /** Calls made and not settled yet (timed out or not), with their target and when they were made. */
  private readonly unsettled = new Set<{ readonly target: ClientTarget; readonly since: number }>();
  private readonly atomicOps: boolean;
  private running: Promise<void>[] = [];

  /** `atomicOps`: the mix includes transactions and update loops. */
  constructor(random: SeededRandom, host: WorkloadHost, timeoutMs: number, atomicOps = false) {
    this.random = random;
    this.host = host;
    this.timeoutMs = timeoutMs;
    this.atomicOps = atomicOps;
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
    if (roll < 55) return this.registerWrite(process, target, 'set', key);
    if (roll < 60) return this.registerWrite(process, target, 'delete', key);
    if (roll < 70) return this.registerWrite(process, target, 'cas', key);
    if (roll < 75) return this.registerWrite(process, target, 'put-if-absent', key);
    if (this.atomicOps && roll >= 78 && roll < 89) {
      if (roll < 80) return this.pairRead(process, target);
      if (roll < 83) return this.pairTxn(process, target);
      return this.update(target, this.random.pick(UPDATE_KEYS));
    }
    if (roll < 85) return this.increment(target, this.random.pick(COUNTER_KEYS));
    if (roll < 95) {
      const ttlMs = this.random.pick([1, 50, 300, 2000]);
      const command: KvCommand = {
        op: 'set',
        key: this.random.pick(TTL_KEYS),
        value: this.values.unique(),
        ttlMs,
      };
      return this.uncheckedWrite(target, command);
    }
    const versionKey = this.random.pick(VERSION_KEYS);
    return this.uncheckedWrite(target, {
      op: 'set',
      key: versionKey,
      value: this.values.unique(),
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

  private async linearizableGet(process: number, target: ClientTarget, key: string): Promise<boolean> {
    this.record(target, { process, type: 'invoke', f: 'get', key });
    const read = async (): Promise<unknown> => {
      await target.node.linearizableBarrier();
      return target.node.machine.get(DEFAULT_MAP, key)?.value ?? null;
    };
    const outcome = await this.settle(target, read());
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
    const outcome = await this.settle(target, target.node.leaderRead(DEFAULT_MAP, key));
    if (outcome.kind === 'ok')
      this.uncheckedReads.push({ consistency, key, value: outcome.value?.value ?? null });
    return true;
  }

  private registerWrite(
    process: number,
    target: ClientTarget,
    kind: RegisterWriteKind,
    key: string,
  ): Promise<boolean> {
    const { op, command } = this.values.write(kind, key, this.random);
    return this.checkedWrite(process, target, op, command);
  }

  private async checkedWrite(
    process: number,
    target: ClientTarget,
    op: Pick<ImdgoHistoryEvent, 'f' | 'key' | 'value'>,
    command: KvCommand,
  ): Promise<boolean> {
    const invoke: ImdgoHistoryEvent = { process, type: 'invoke', ...op };
    this.record(target, invoke);
    const outcome = await this.settle(target, target.node.write(command));
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
    const outcome = await this.settle(target, target.node.write({ op: 'increment', key, delta: 1 }));
    if (outcome.kind === 'unknown') return true;
    counter.unknown--;
    if (outcome.kind === 'ok' && outcome.value.applied)
      counter.acknowledged.push(outcome.value.value as number);
    return true;
  }

  /** Both pair keys read at one applied index (after a ReadIndex barrier), as the register `pair`. */
  private async pairRead(process: number, target: ClientTarget): Promise<boolean> {
    this.record(target, { process, type: 'invoke', f: 'get', key: PAIR.history });
    const read = async (): Promise<unknown> => {
      await target.node.linearizableBarrier();
      const values = PAIR.keys.map((key) => target.node.machine.get(DEFAULT_MAP, key)?.value ?? null);
      return values.every((value) => value === null) ? null : values;
    };
    const outcome = await this.settle(target, read());
    if (outcome.kind === 'ok') {
      this.record(target, { process, type: 'ok', f: 'get', key: PAIR.history, value: outcome.value });
      this.completed++;
    } else {
      this.record(target, { process, type: 'fail', f: 'get', key: PAIR.history });
    }
    return true;
  }

  /**
   * A transaction: if both pair keys hold the expected values (absent when null), set both to fresh ones,
   * else write a key outside the pair. A compare-and-set of the register `pair` for the checker.
   */
  private async pairTxn(process: number, target: ClientTarget): Promise<boolean> {
    const expected = this.values.expected(PAIR.history, this.random);
    const next = [this.values.unique(), this.values.unique()];
    this.values.remember(PAIR.history, next);
    const command: KvCommand = {
      op: 'txn',
      compare: PAIR.keys.map((key, i) =>
        expected === null ? { key, exists: false } : { key, value: (expected as number[])[i] },
      ),
      success: PAIR.keys.map((key, i) => ({ op: 'set', key, value: next[i] })),
      failure: [{ op: 'set', key: PAIR.refused, value: this.values.unique() }],
    };
    return this.checkedWrite(
      process,
      target,
      { f: 'cas', key: PAIR.history, value: [expected, next] },
      command,
    );
  }

  /**
   * `update` (the store's read-compute-setIfVersion loop) adding one: like an increment, each acknowledged
   * update must see a value of its own, and the counter ends within the acknowledged and unknown ones.
   */
  private async update(target: ClientTarget, key: string): Promise<boolean> {
    const counter = this.increments.get(key) ?? { acknowledged: [], unknown: 0 };
    this.increments.set(key, counter);
    counter.unknown++;
    const access: VersionedAccess<number> = {
      async getEntry(k) {
        await target.node.linearizableBarrier();
        const record = target.node.machine.get(DEFAULT_MAP, k);
        return (
          record && { key: k, ...record, value: record.value as number, expiresAt: record.expiresAt ?? null }
        );
      },
      // As the store does: the memory cap's refusal is an error, not a conflict to retry.
      setIfVersion: (k, version, value) =>
        refuseWhenFull(target.node.write({ op: 'set', key: k, value, ifVersion: version })),
      deleteIfVersion: (k, version) => target.node.write({ op: 'delete', key: k, ifVersion: version }),
    };
    const call = updateKey(access, key, (n) => (n ?? 0) + 1, { retries: 3 });
    const outcome = await this.settle(target, call);
    if (outcome.kind === 'unknown') return true;
    counter.unknown--;
    if (outcome.kind === 'ok') counter.acknowledged.push(outcome.value.value!);
    return true;
  }

  private async uncheckedWrite(target: ClientTarget, command: KvCommand): Promise<boolean> {
    await this.settle(target, target.node.write(command));
    return true;
  }

  /**
   * The first call to a process still running that has not settled `boundMs` after it was made, or null.
   * A client gives up on a call after its timeout, but the node must still settle it: one that never does
   * holds its caller, and its session's results, for good.
   */
  unsettledCall(now: number, boundMs: number): string | null {
    for (const call of this.unsettled) {
      if (call.target.alive() && now - call.since > boundMs) {
        return `a call to ${call.target.id} made at ${call.since.toFixed(0)} ms had not settled ${(now - call.since).toFixed(0)} ms later`;
      }
    }
    return null;
  }

  /** Whether a call to a process still running has not settled yet. */
  awaitsCalls(): boolean {
    for (const call of this.unsettled) if (call.target.alive()) return true;
    return false;
  }

  /** A call's outcome: done, certainly not done (refused), or unknown (timed out, node gone). */
  private async settle<T>(
    target: ClientTarget,
    call: Promise<T>,
  ): Promise<{ kind: 'ok'; value: T } | { kind: 'refused' } | { kind: 'unknown' }> {
    const tracked = { target, since: this.host.virtualNow() };
    this.unsettled.add(tracked);
    const settled = (): void => {
      this.unsettled.delete(tracked);
    };
    call.then(settled, settled);
    try {
      const value = await this.host.within(call, this.timeoutMs);
      return value === 'timeout' ? { kind: 'unknown' } : { kind: 'ok', value };
    } catch (error) {
      if (
        error instanceof BusyError ||
        error instanceof InvalidArgumentError ||
        error instanceof ValueTooLargeError ||
        error instanceof StoreFullError ||
        // Every attempt's conditional write was refused: nothing was written.
        error instanceof UpdateConflictError
      ) {
        return { kind: 'refused' };
      }
      return { kind: 'unknown' };
    }
  }
}

async function refuseWhenFull(write: Promise<CommandResult>): Promise<CommandResult> {
  const result = await write;
  if (result.refusal === 'no-space') throw new StoreFullError(result.maxStoreBytes ?? 0);
  return result;
}
