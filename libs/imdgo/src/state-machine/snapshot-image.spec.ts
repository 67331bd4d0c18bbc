import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, stampCommand, type KvCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { encodeImage, encodeImageChunks } from './snapshot-image.ts';

function applyAll(machine: KvStateMachine, commands: KvCommand[]): void {
  for (const command of commands) {
    const entry: Entry = {
      index: machine.appliedIndex + 1,
      term: 1,
      kind: 'command',
      data: stampCommand(
        encodeCommand({ session: { client: 'c', seq: machine.appliedIndex + 1 }, command }),
        {
          time: 1_000,
          storeLimit: null,
        },
      ),
    };
    machine.apply(entry);
  }
}

describe('snapshot images', () => {
  it('restore the state as it was when captured, whatever happened after', () => {
    const machine = new KvStateMachine();
    applyAll(machine, [
      { op: 'set', key: 'a', value: { nested: [1, 2] } },
      { op: 'set', key: 'b', value: new Date(5), ttlMs: 60_000 },
      { op: 'set', map: 'users', key: 'u1', value: 'Ada' },
      { op: 'increment', key: 'n', delta: 3 },
    ]);
    const capture = machine.capture();
    applyAll(machine, [
      { op: 'delete', key: 'a' },
      { op: 'set', key: 'late', value: 1 },
    ]);
    const restored = new KvStateMachine();
    restored.restore(encodeImage(capture));
    expect(restored.appliedIndex).toBe(4);
    expect(restored.get('', 'a')?.value).toEqual({ nested: [1, 2] });
    expect(restored.get('', 'b')).toMatchObject({ value: new Date(5), expiresAt: 61_000, version: 1 });
    expect(restored.get('', 'late')).toBeUndefined();
    expect(restored.get('users', 'u1')?.value).toBe('Ada');
    expect(restored.get('', 'n')?.value).toBe(3);
    // The TTL index is rebuilt, so the leader can still expire restored keys.
    expect(restored.dueExpiries(61_000, 10)).toEqual([{ map: '', key: 'b', revision: 2 }]);
  });

  it('restore a state whose digest is identical, log time and sessions included, and stays identical', () => {
    const machine = new KvStateMachine();
    applyAll(machine, [
      { op: 'set', key: 'a', value: 'x', ttlMs: 5_000 },
      { op: 'set', map: 'm', key: 'b', value: [1, 2, 3], ttlMs: 1_000 },
      { op: 'set', key: 'c', value: 'y' },
      { op: 'delete', key: 'c' },
    ]);
    const restored = new KvStateMachine();
    restored.restore(encodeImage(machine.capture()));
    expect(restored.logTime).toBe(1_000);
    expect(restored.sessionCount).toBe(1);
    expect(restored.digest()).toBe(machine.digest());
    const more: KvCommand[] = [
      { op: 'set', key: 'd', value: 'z', ttlMs: 10 },
      { op: 'set', key: 'a', value: 'x2' },
    ];
    applyAll(machine, more);
    applyAll(restored, more);
    expect(restored.digest()).toBe(machine.digest());
    expect(restored.digest()).not.toBe(new KvStateMachine().digest());
  });

  it('keeps exactly-once sessions across a restore', () => {
    const machine = new KvStateMachine();
    const write: Entry = {
      index: 1,
      term: 1,
      kind: 'command',
      data: encodeCommand({
        session: { client: 'x', seq: 1 },
        command: { op: 'increment', key: 'k', delta: 1 },
      }),
    };
    machine.apply(write);
    const restored = new KvStateMachine();
    restored.restore(encodeImage(machine.capture()));
    const retry = restored.apply({ ...write, index: 2 });
    expect(retry.duplicate).toBe(true);
    expect(restored.get('', 'k')?.value).toBe(1);
  });

  it('encodes large maps in bounded chunks', () => {
    const machine = new KvStateMachine();
    applyAll(
      machine,
      Array.from({ length: 25 }, (_, i) => ({ op: 'set', key: `k${i}`, value: i }) as const),
    );
    const chunks = [...encodeImageChunks(machine.capture(), 10)];
    expect(chunks).toHaveLength(1 + 3);
    const restored = new KvStateMachine();
    restored.restore(Buffer.concat(chunks));
    expect(restored.size('')).toBe(25);
  });
});
