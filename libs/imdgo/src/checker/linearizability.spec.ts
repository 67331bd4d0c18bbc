import { describe, expect, it } from 'vitest';
import { checkOperations } from './linearizability.ts';
import { registerModel } from './models/etcd-register.ts';
import type { RegisterInput, RegisterOutput } from './models/etcd-register.ts';
import { imdgoKvModel } from './models/imdgo-kv.ts';
import type { ImdgoKvInput, ImdgoKvOutput } from './models/imdgo-kv.ts';
import type { Operation } from './types.ts';

type RegisterOp = Operation<RegisterInput, RegisterOutput>;

const UNKNOWN = Number.POSITIVE_INFINITY;

function write(clientId: number, call: number, ret: number, value: number): RegisterOp {
  const output = ret === UNKNOWN ? undefined : { ok: true };
  return { clientId, input: { op: 'write', value }, call, output, return: ret };
}

function read(clientId: number, call: number, ret: number, value: number | null): RegisterOp {
  return { clientId, input: { op: 'read' }, call, output: { value }, return: ret };
}

function cas(clientId: number, call: number, ret: number, from: number, to: number, ok: boolean): RegisterOp {
  return { clientId, input: { op: 'cas', from, to }, call, output: { ok }, return: ret };
}

function verdict(ops: RegisterOp[]): string {
  return checkOperations(registerModel, ops).result;
}

describe('checkOperations', () => {
  it('accepts the empty history', () => {
    expect(verdict([])).toBe('linearizable');
  });

  it('follows real-time order for sequential operations', () => {
    expect(verdict([write(0, 0, 1, 1), read(1, 2, 3, 1)])).toBe('linearizable');
    expect(verdict([write(0, 0, 1, 1), read(1, 2, 3, null)])).toBe('not-linearizable');
  });

  it('lets a read concurrent with a write see either value', () => {
    expect(verdict([write(0, 0, 3, 1), read(1, 1, 2, 1)])).toBe('linearizable');
    expect(verdict([write(0, 0, 3, 1), read(1, 1, 2, null)])).toBe('linearizable');
  });

  it('rejects a stale read and reports how far it got', () => {
    const ops = [write(0, 0, 1, 1), write(1, 2, 3, 2), read(2, 4, 5, 1)];
    const result = checkOperations(registerModel, ops);
    expect(result).toMatchObject({ result: 'not-linearizable', partitionIndex: 0 });
    expect(result.result === 'not-linearizable' && result.longestLinearization).toEqual([ops[0], ops[1]]);
  });

  it('rejects reads that go back in time between two readers', () => {
    // The write is concurrent with both reads, but once one read saw 1 a later one cannot see null.
    expect(verdict([write(0, 0, 10, 1), read(1, 1, 2, 1), read(2, 3, 4, null)])).toBe('not-linearizable');
  });

  it('lets an operation of unknown outcome take effect at any later point', () => {
    const before = [write(0, 0, 1, 1), read(1, 3, 4, 1), read(1, 5, 6, 2)];
    expect(verdict([...before, write(2, 2, UNKNOWN, 2)])).toBe('linearizable');
    expect(verdict(before)).toBe('not-linearizable');
  });

  it('lets an operation of unknown outcome never take effect', () => {
    expect(verdict([write(0, 0, 1, 1), write(2, 2, UNKNOWN, 2), read(1, 3, 4, 1)])).toBe('linearizable');
  });

  it('does not let an operation of unknown outcome act before its call', () => {
    expect(verdict([read(1, 0, 1, 2), write(2, 2, UNKNOWN, 2)])).toBe('not-linearizable');
  });

  it('requires a failed cas to be explained by a different value', () => {
    expect(verdict([write(0, 0, 1, 1), cas(1, 2, 3, 1, 2, false)])).toBe('not-linearizable');
    expect(verdict([write(0, 0, 1, 1), cas(1, 2, 3, 0, 2, false)])).toBe('linearizable');
    expect(verdict([write(0, 0, 1, 1), cas(1, 2, 3, 1, 2, true), read(0, 4, 5, 2)])).toBe('linearizable');
  });

  it('treats operations touching at the same instant as concurrent', () => {
    expect(verdict([write(0, 0, 5, 1), read(1, 5, 6, null)])).toBe('linearizable');
  });

  it('refuses an operation that returns before its call', () => {
    expect(() => verdict([write(0, 5, 4, 1)])).toThrow(RangeError);
  });

  it('answers unknown when the time budget runs out, but finishes tiny histories anyway', () => {
    expect(checkOperations(registerModel, hardViolation(16), { timeoutMs: 0 })).toEqual({
      result: 'unknown',
      reason: 'timeout',
      unfinishedPartitions: [0],
    });
    expect(checkOperations(registerModel, [write(0, 0, 1, 1)], { timeoutMs: 0 }).result).toBe('linearizable');
  });

  it('finds a quick violation in one partition while another is slow to refute', () => {
    const slow = hardViolation(22).map((op): Operation<ImdgoKvInput, ImdgoKvOutput> => {
      const input: ImdgoKvInput =
        op.input.op === 'write'
          ? { op: 'set', key: 'slow', value: op.input.value }
          : { op: 'get', key: 'slow' };
      const output = op.output && 'value' in op.output ? { value: op.output.value } : { ok: true };
      return { ...op, input, output };
    });
    const quick: Operation<ImdgoKvInput, ImdgoKvOutput>[] = [
      {
        clientId: 30,
        input: { op: 'set', key: 'quick', value: 1 },
        call: 0,
        output: { ok: true },
        return: 1,
      },
      { clientId: 31, input: { op: 'get', key: 'quick' }, call: 2, output: { value: null }, return: 3 },
    ];
    const started = performance.now();
    const result = checkOperations(imdgoKvModel, [...slow, ...quick], { timeoutMs: 20_000 });
    expect(result).toMatchObject({ result: 'not-linearizable', partitionIndex: 1, partition: quick });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

/** `writers` concurrent writes and a concurrent read of a value nobody wrote: refuting it takes ~2^writers steps. */
function hardViolation(writers: number): RegisterOp[] {
  const ops = Array.from({ length: writers }, (_, i) => write(i, 0, 100, i));
  return [...ops, read(writers, 1, 99, -1)];
}
