import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import {
  encodeCommand,
  encodedSize,
  stampCommand,
  type KvCommand,
  type SessionStamp,
  type StoreLimit,
} from './commands.ts';
import { KvStateMachine, type AppliedCommand } from './kv-state-machine.ts';
import { encodeImage } from './snapshot-image.ts';
import type { TxnCommand } from './txn.ts';

interface Append {
  readonly command: KvCommand;
  readonly time?: number;
  readonly session?: SessionStamp;
  readonly storeLimit?: StoreLimit;
}

function entry(index: number, append: Append): Entry {
  const body = encodeCommand({ session: append.session, command: append.command });
  const data = stampCommand(body, { time: append.time ?? 1_000, storeLimit: append.storeLimit ?? null });
  return { index, term: 1, kind: 'command', data };
}

function apply(machine: KvStateMachine, append: Append): AppliedCommand {
  return machine.apply(entry(machine.appliedIndex + 1, append));
}

/** Moves `amount` from one account to another if `from` is still at `version` (a read-modify-write). */
function transfer(fromVersion: number, fromBalance: number, toBalance: number, amount: number): TxnCommand {
  return {
    op: 'txn',
    compare: [{ map: 'accounts', key: 'alice', version: fromVersion }],
    success: [
      { op: 'set', map: 'accounts', key: 'alice', value: fromBalance - amount },
      { op: 'set', map: 'accounts', key: 'bob', value: toBalance + amount },
      { op: 'delete', map: 'accounts', key: 'pending' },
    ],
    failure: [{ op: 'set', map: 'audit', key: 'conflicts', value: 1 }],
  };
}

function seeded(): KvStateMachine {
  const machine = new KvStateMachine();
  apply(machine, { command: { op: 'set', map: 'accounts', key: 'alice', value: 100 } });
  apply(machine, { command: { op: 'set', map: 'accounts', key: 'bob', value: 5 } });
  apply(machine, { command: { op: 'set', map: 'accounts', key: 'pending', value: true } });
  return machine;
}

describe('transactions in the state machine', () => {
  it('applies the success branch whole at one revision when every compare holds', () => {
    const machine = seeded();
    const applied = apply(machine, { command: transfer(1, 100, 5, 30) });
    expect(applied.result).toMatchObject({
      applied: true,
      revision: 4,
      txn: [
        { map: 'accounts', key: 'alice', version: 2 },
        { map: 'accounts', key: 'bob', version: 2 },
        { map: 'accounts', key: 'pending', version: 0, deleted: true },
      ],
    });
    expect(applied.changes.map((c) => [c.type, c.key, c.revision])).toEqual([
      ['set', 'alice', 4],
      ['set', 'bob', 4],
      ['delete', 'pending', 4],
    ]);
    expect(machine.get('accounts', 'alice')?.value).toBe(70);
    expect(machine.get('accounts', 'bob')?.value).toBe(35);
    expect(machine.get('accounts', 'pending')).toBeUndefined();
  });

  it('applies the failure branch, and nothing of the success branch, when a compare fails', () => {
    const machine = seeded();
    apply(machine, { command: { op: 'set', map: 'accounts', key: 'alice', value: 90 } });
    const applied = apply(machine, { command: transfer(1, 100, 5, 30) });
    expect(applied.result).toMatchObject({ applied: false, txn: [{ map: 'audit', key: 'conflicts' }] });
    expect(machine.get('accounts', 'alice')?.value).toBe(90);
    expect(machine.get('accounts', 'bob')?.value).toBe(5);
    expect(machine.get('audit', 'conflicts')?.value).toBe(1);
  });

  it('compares exists, version, modRevision and value, with an expired key counting as absent', () => {
    const machine = new KvStateMachine();
    apply(machine, { time: 1_000, command: { op: 'set', key: 'k', value: { a: [1] } } });
    apply(machine, { time: 1_000, command: { op: 'set', key: 'gone', value: 1, ttlMs: 10 } });
    const check = (compare: TxnCommand['compare'], time = 1_000) =>
      apply(machine, { time, command: { op: 'txn', compare, success: [], failure: [] } }).result!.applied;
    expect(
      check([
        { key: 'k', exists: true },
        { key: 'nope', exists: false },
      ]),
    ).toBe(true);
    expect(
      check([
        { key: 'k', version: 1 },
        { key: 'k', modRevision: 1 },
      ]),
    ).toBe(true);
    expect(check([{ key: 'k', value: { a: [1] } }])).toBe(true);
    expect(check([{ key: 'k', value: { a: [2] } }])).toBe(false);
    expect(check([{ key: 'nope', version: 0 }])).toBe(true);
    expect(check([{ key: 'gone', exists: true }], 1_005)).toBe(true);
    expect(
      check(
        [
          { key: 'gone', exists: false },
          { key: 'gone', version: 0 },
        ],
        1_010,
      ),
    ).toBe(true);
  });

  it('applies a retried transaction once: the duplicate gets the remembered result', () => {
    const machine = seeded();
    const session = { client: 'c1', seq: 1 };
    const first = apply(machine, { session, command: transfer(1, 100, 5, 30) });
    const retry = apply(machine, { session, command: transfer(1, 100, 5, 30) });
    expect(retry.duplicate).toBe(true);
    expect(retry.changes).toEqual([]);
    expect(retry.result).toEqual(first.result);
    expect(machine.get('accounts', 'alice')?.value).toBe(70);
  });

  it('refuses a branch the memory cap has no room for whole, evicting nothing', () => {
    const machine = new KvStateMachine();
    apply(machine, { command: { op: 'set', key: 'old', value: 'x', ttlMs: 60_000 } });
    const used = machine.usedBytes;
    const command: TxnCommand = {
      op: 'txn',
      compare: [],
      success: [
        { op: 'set', key: 'a', value: 'v' },
        { op: 'set', key: 'b', value: 'v' },
      ],
      failure: [],
    };
    // Room for one of the two writes (and for evicting `old`), not for both.
    const storeLimit = { maxBytes: used + 1 + encodedSize('v'), evictTtl: true };
    const refused = apply(machine, { storeLimit, command });
    expect(refused.result).toMatchObject({ applied: false, refusal: 'no-space' });
    expect(refused.changes).toEqual([]);
    expect(machine.get('', 'a')).toBeUndefined();
    expect(machine.get('', 'old')?.value).toBe('x');
    const roomy = { maxBytes: used + 2 * (1 + encodedSize('v')), evictTtl: false };
    expect(apply(machine, { storeLimit: roomy, command }).result).toMatchObject({ applied: true });
  });

  it('skips alike on every node a transaction no node could apply', () => {
    const malformed: unknown[] = [
      { op: 'txn', compare: [], success: [] },
      { op: 'txn', compare: [{ key: 'k' }], success: [], failure: [] },
      { op: 'txn', compare: [{ key: 'k', version: 1, exists: true }], success: [], failure: [] },
      { op: 'txn', compare: [{ key: 'k', version: -1 }], success: [], failure: [] },
      { op: 'txn', compare: [], success: [{ op: 'increment', key: 'k' }], failure: [] },
      { op: 'txn', compare: [], success: [{ op: 'set', key: '', value: 1 }], failure: [] },
      {
        op: 'txn',
        compare: [],
        success: [
          { op: 'set', key: 'k', value: 1 },
          { op: 'delete', key: 'k' },
        ],
        failure: [],
      },
    ];
    const machine = new KvStateMachine();
    for (const command of malformed) {
      const applied = apply(machine, { command: command as KvCommand });
      expect(applied.result, JSON.stringify(command)).toBeNull();
    }
    expect(machine.size('')).toBe(0);
  });

  it('leaves replicas that applied the same log, or restored a snapshot of it midway, in the same state', () => {
    const log: Append[] = [
      { command: { op: 'set', map: 'accounts', key: 'alice', value: 100 } },
      { command: { op: 'set', map: 'accounts', key: 'bob', value: 5, ttlMs: 500 } },
      { session: { client: 'c', seq: 1 }, command: transfer(1, 100, 5, 30) },
      { session: { client: 'c', seq: 2 }, command: transfer(1, 70, 35, 10) },
      { session: { client: 'c', seq: 1 }, command: transfer(1, 100, 5, 30) },
      { time: 2_000, command: transfer(2, 70, 35, 10) },
    ];
    const straight = new KvStateMachine();
    const midway = new KvStateMachine();
    for (const append of log.slice(0, 3)) apply(midway, append);
    const restored = new KvStateMachine();
    restored.restore(encodeImage(midway.capture()));
    for (const append of log) apply(straight, append);
    for (const append of log.slice(3)) {
      apply(midway, append);
      apply(restored, append);
    }
    expect(straight.get('accounts', 'alice')?.value).toBe(60);
    expect(straight.get('audit', 'conflicts')?.value).toBe(1);
    expect(midway.digest()).toBe(straight.digest());
    expect(restored.digest()).toBe(straight.digest());
  });
});
