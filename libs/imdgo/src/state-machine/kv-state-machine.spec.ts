import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import type { ChangeEvent } from './change-event.ts';
import {
  encodeCommand,
  encodedSize,
  stampCommand,
  type KvCommand,
  type SessionStamp,
  type StoreLimit,
} from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { SESSION_IDLE_MS } from './session-table.ts';

interface Append {
  readonly command: KvCommand;
  /** The appending leader's clock. */
  readonly time: number;
  readonly storeLimit?: StoreLimit | null;
  readonly session?: SessionStamp;
}

/** The log entry a leader appends for `append` at `index`. */
function entry(index: number, append: Append): Entry {
  const body = encodeCommand({ session: append.session, command: append.command });
  const data = stampCommand(body, { time: append.time, storeLimit: append.storeLimit ?? null });
  return { index, term: 1, kind: 'command', data };
}

/** Applies the same log to every replica, returning each one's changes. */
function applyToAll(replicas: KvStateMachine[], appends: Append[]): ChangeEvent[][] {
  return replicas.map((machine) =>
    appends.flatMap((append) => machine.apply(entry(machine.appliedIndex + 1, append)).changes),
  );
}

const EVICT: StoreLimit = { maxBytes: 0, evictTtl: true };

describe('evict-ttl decides from the log alone', () => {
  // Keys a (expires at 100) and b (500), each holding `bytes` (key plus encoded value).
  const bytes = 1 + encodedSize('v');
  const setup: Append[] = [
    { time: 0, command: { op: 'set', key: 'a', value: 'v', ttlMs: 100 } },
    { time: 0, command: { op: 'set', key: 'b', value: 'v', ttlMs: 500 } },
  ];
  // A write already in the log that needs one key's room (the cap holds exactly a and b).
  const needsOneEviction: Append = {
    time: 150,
    storeLimit: { ...EVICT, maxBytes: 2 * bytes },
    command: { op: 'set', key: 'c', value: 'v' },
  };

  it('evicts the same key on the leader, which proposed an expiry, as on the followers', () => {
    const leader = new KvStateMachine();
    const follower = new KvStateMachine();
    applyToAll([leader, follower], setup);
    // The leader's clock passes a's deadline: it proposes expire a (not yet applied anywhere).
    expect(leader.dueExpiries(200, 10)).toEqual([{ map: '', key: 'a', revision: 1 }]);
    const [onLeader, onFollower] = applyToAll([leader, follower], [needsOneEviction]);
    expect(onLeader!.filter((c) => c.type === 'evict').map((c) => c.key)).toEqual(['a']);
    expect(onFollower).toEqual(onLeader);
    expect(leader.digest()).toBe(follower.digest());
  });

  it('evicts alike when the expire proposal is lost in a leader change, and the leader proposes it again', () => {
    const oldLeader = new KvStateMachine();
    const newLeader = new KvStateMachine();
    const follower = new KvStateMachine();
    applyToAll([oldLeader, newLeader, follower], setup);
    // The old leader proposed expire a twice over (ticks at 200 and 300), and both proposals were lost.
    oldLeader.dueExpiries(200, 10);
    expect(oldLeader.dueExpiries(300, 10)).toEqual([]);
    expect(newLeader.dueExpiries(600, 10).map((d) => d.key)).toEqual(['a', 'b']);
    const changes = applyToAll([oldLeader, newLeader, follower], [needsOneEviction]);
    expect(new Set(changes.map((c) => JSON.stringify(c))).size).toBe(1);
    expect(new Set([oldLeader, newLeader, follower].map((m) => m.digest())).size).toBe(1);
    // Not applied after the retry interval: proposed again.
    expect(newLeader.dueExpiries(600 + 1_000, 10).map((d) => d.key)).toEqual(['b']);
  });

  it('evicts nothing when eviction cannot make room, and refuses the write', () => {
    const machine = new KvStateMachine();
    applyToAll(
      [machine],
      [
        { time: 0, command: { op: 'set', key: 'ttl', value: 'v', ttlMs: 1_000 } },
        { time: 0, command: { op: 'set', key: 'kept', value: 'v' } },
      ],
    );
    const before = machine.dataBytes;
    const big: Append = {
      time: 1,
      storeLimit: { ...EVICT, maxBytes: before + 10 },
      command: { op: 'set', key: 'big', value: 'x'.repeat(100) },
    };
    const applied = machine.apply(entry(3, big));
    expect(applied.result).toMatchObject({ applied: false, refusal: 'no-space' });
    expect(applied.changes).toEqual([]);
    expect(machine.get('', 'ttl')?.value).toBe('v');
    expect(machine.dataBytes).toBe(before);
  });

  it('counts keys plus encoded values against the cap, with the cap the entry was stamped with', () => {
    const machine = new KvStateMachine();
    const value = { name: 'Ada', tags: ['x', 'y'] };
    const limit = { maxBytes: 2 * (3 + encodedSize(value)), evictTtl: false };
    const write = (key: string, storeLimit: StoreLimit | null) =>
      machine.apply(
        entry(machine.appliedIndex + 1, { time: 0, storeLimit, command: { op: 'set', key, value } }),
      );
    expect(write('k:1', limit).result?.applied).toBe(true);
    expect(write('k:2', limit).result?.applied).toBe(true);
    expect(machine.dataBytes).toBe(limit.maxBytes);
    expect(write('k:3', limit).result?.refusal).toBe('no-space');
    // An entry appended by a leader without a cap is not capped, whichever node wrote it.
    expect(write('k:3', null).result?.applied).toBe(true);
  });
});

describe('memory outside the data stays bounded', () => {
  it('counts each record as its key and encoded value', () => {
    const machine = new KvStateMachine();
    const value = 'v'.repeat(100);
    applyToAll([machine], [{ time: 1, command: { op: 'set', key: 'k', value } }]);
    expect(machine.get('', 'k')!.size).toBe(1 + encodedSize(value));
    expect(machine.dataBytes).toBe(1 + encodedSize(value));
    const object = { name: 'Ada' };
    applyToAll(
      [machine],
      [
        { time: 2, command: { op: 'set', key: 'k', value: object, ttlMs: 1_000 } },
        { time: 3, command: { op: 'set', key: 'j', value } },
      ],
    );
    expect(machine.get('', 'k')).toMatchObject({ expiresAt: 1_002, size: 1 + encodedSize(object) });
    expect(machine.dataBytes).toBe(2 + encodedSize(object) + encodedSize(value));
    applyToAll([machine], [{ time: 4, command: { op: 'delete', key: 'j' } }]);
    expect(machine.dataBytes).toBe(1 + encodedSize(object));
  });

  it('keeps one expiry candidate per live key with a TTL, none for deleted keys', () => {
    const machine = new KvStateMachine();
    const appends: Append[] = Array.from({ length: 10_000 }, (_, i) => ({
      time: i,
      command: { op: 'set', key: 'k', value: i, ttlMs: 60_000 },
    }));
    applyToAll([machine], appends);
    expect(machine.expiryCount).toBe(1);
    applyToAll([machine], [{ time: 10_000, command: { op: 'delete', key: 'k' } }]);
    expect(machine.expiryCount).toBe(0);
  });

  it('expires an idle session after its idle time in log time, on every node at the same entry', () => {
    const replicas = [
      new KvStateMachine({ sessionIdleMs: 1_000 }),
      new KvStateMachine({ sessionIdleMs: 1_000 }),
    ];
    const session = { client: 'process-1', seq: 1 };
    applyToAll(replicas, [{ time: 0, session, command: { op: 'set', key: 'k', value: 1 } }]);
    applyToAll(replicas, [{ time: 999, command: { op: 'set', key: 'other', value: 1 } }]);
    for (const machine of replicas) expect(machine.sessionCount).toBe(1);
    applyToAll(replicas, [{ time: 1_000, command: { op: 'set', key: 'other', value: 2 } }]);
    for (const machine of replicas) expect(machine.sessionCount).toBe(0);
  });

  it('drops every session when log time jumps ahead by the default idle time, an hour (a leader clock jump)', () => {
    const replicas = [new KvStateMachine(), new KvStateMachine()];
    const session = { client: 'process-1', seq: 1 };
    applyToAll(replicas, [{ time: 0, session, command: { op: 'set', key: 'k', value: 1 } }]);
    applyToAll(replicas, [{ time: SESSION_IDLE_MS - 1, command: { op: 'set', key: 'other', value: 1 } }]);
    for (const machine of replicas) expect(machine.sessionCount).toBe(1);
    applyToAll(replicas, [{ time: SESSION_IDLE_MS, command: { op: 'set', key: 'other', value: 2 } }]);
    for (const machine of replicas) expect(machine.sessionCount).toBe(0);
  });

  it('counts the values sessions keep for unacknowledged results toward the cap, until acknowledged', () => {
    const machine = new KvStateMachine();
    const big = 'x'.repeat(1_000);
    applyToAll(
      [machine],
      [
        { time: 0, session: { client: 'c', seq: 1 }, command: { op: 'set', key: 'k', value: big } },
        // Replaces the big value: its result (previous: big) is kept until the client acknowledges it.
        { time: 0, session: { client: 'c', seq: 2, firstUnacked: 1 }, command: { op: 'delete', key: 'k' } },
      ],
    );
    expect(machine.dataBytes).toBe(0);
    expect(machine.usedBytes).toBe(1 + encodedSize(big));
    const limit = { maxBytes: 500, evictTtl: false };
    const refused = machine.apply(
      entry(3, { time: 0, storeLimit: limit, command: { op: 'set', key: 'n', value: 'y'.repeat(100) } }),
    );
    expect(refused.result?.refusal).toBe('no-space');
    // The client's next write acknowledges both earlier ones: the kept value is released.
    applyToAll(
      [machine],
      [
        {
          time: 0,
          session: { client: 'c', seq: 3, firstUnacked: 3 },
          command: { op: 'set', key: 'k', value: 1 },
        },
      ],
    );
    expect(machine.usedBytes).toBe(machine.dataBytes);
  });
});

describe('the cap and what sessions keep', () => {
  it('refuses an overwrite of the same size at the cap when its session would keep the replaced value', () => {
    const machine = new KvStateMachine();
    const limit = { maxBytes: 1_000, evictTtl: false };
    const first = 'a'.repeat(400);
    applyToAll(
      [machine],
      [
        {
          time: 0,
          storeLimit: limit,
          session: { client: 'c', seq: 1 },
          command: { op: 'set', key: 'k', value: first },
        },
      ],
    );
    const filler = 1_000 - machine.usedBytes - 10;
    applyToAll(
      [machine],
      [{ time: 0, storeLimit: limit, command: { op: 'set', key: 'f', value: 'f'.repeat(filler) } }],
    );
    const overwrite = machine.apply(
      entry(3, {
        time: 0,
        storeLimit: limit,
        session: { client: 'c', seq: 2 },
        command: { op: 'set', key: 'k', value: 'b'.repeat(400) },
      }),
    );
    expect(overwrite.result?.refusal).toBe('no-space');
    expect(machine.usedBytes).toBeLessThanOrEqual(limit.maxBytes);
  });
});

describe('time comes from the log', () => {
  it('computes a TTL deadline from the time the entry was appended, however late a retry appends it', () => {
    const machine = new KvStateMachine();
    // The writer made this command at t=0; its first attempt was lost, the retry appended at t=2000.
    applyToAll([machine], [{ time: 2_000, command: { op: 'set', key: 'k', value: 1, ttlMs: 1_000 } }]);
    expect(machine.get('', 'k')).toMatchObject({ value: 1, expiresAt: 3_000 });
  });

  it('answers reads by log time: replicas at the same index agree, and an expired key stays gone', () => {
    const replicas = [new KvStateMachine(), new KvStateMachine()];
    applyToAll(replicas, [{ time: 1_000, command: { op: 'set', key: 'k', value: 1, ttlMs: 100 } }]);
    for (const machine of replicas) expect(machine.get('', 'k')?.value).toBe(1);
    // Any entry whose time passed the deadline hides the key, before its expire entry is applied.
    applyToAll(replicas, [{ time: 1_100, command: { op: 'set', key: 'other', value: 1 } }]);
    for (const machine of replicas) {
      expect(machine.get('', 'k')).toBeUndefined();
      expect(machine.size('')).toBe(1);
    }
  });

  it('never lets log time go back when a new leader clock is behind, so keys do not come back', () => {
    const machine = new KvStateMachine();
    applyToAll(
      [machine],
      [
        { time: 5_000, command: { op: 'set', key: 'k', value: 1, ttlMs: 100 } },
        { time: 6_000, command: { op: 'set', key: 'tick', value: 1 } },
        // The next leader's clock is a minute behind.
        { time: -54_000, command: { op: 'set', key: 'late', value: 1, ttlMs: 1_000 } },
      ],
    );
    expect(machine.logTime).toBe(6_000);
    expect(machine.get('', 'k')).toBeUndefined();
    expect(machine.get('', 'late')?.expiresAt).toBe(7_000);
  });

  it('decodes values alike whether the entry bytes are a Buffer or a plain Uint8Array', () => {
    const value = { buffer: Buffer.from([1, 2, 3]), bytes: new Uint8Array([4]) };
    const stamped = entry(1, { time: 0, command: { op: 'set', key: 'k', value } });
    const asBuffer = new KvStateMachine();
    const asUint8Array = new KvStateMachine();
    asBuffer.apply({ ...stamped, data: Buffer.from(stamped.data) });
    asUint8Array.apply({ ...stamped, data: new Uint8Array(stamped.data) });
    for (const machine of [asBuffer, asUint8Array]) {
      const stored = machine.get('', 'k')?.value as typeof value;
      expect(Buffer.isBuffer(stored.buffer)).toBe(true);
      expect(Buffer.isBuffer(stored.bytes)).toBe(false);
    }
    expect(asUint8Array.digest()).toBe(asBuffer.digest());
  });

  it('skips a command whose TTL is not a finite duration, on every node alike', () => {
    const machine = new KvStateMachine();
    for (const ttlMs of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      const applied = machine.apply(
        entry(machine.appliedIndex + 1, { time: 0, command: { op: 'set', key: 'k', value: 1, ttlMs } }),
      );
      expect(applied.result).toBeNull();
    }
    expect(machine.expiryCount).toBe(0);
  });

  it('decides conditions by the entry time, and expires only keys due by it', () => {
    const machine = new KvStateMachine();
    applyToAll([machine], [{ time: 0, command: { op: 'set', key: 'lock', value: 'a', ttlMs: 1_000 } }]);
    const take = (time: number) =>
      machine.apply(
        entry(machine.appliedIndex + 1, {
          time,
          command: { op: 'set', key: 'lock', value: 'b', ifAbsent: true },
        }),
      ).result;
    expect(take(999)?.applied).toBe(false);
    const early = machine.apply(entry(3, { time: 999, command: { op: 'expire', key: 'lock', revision: 1 } }));
    expect(early.result?.applied).toBe(false);
    expect(take(1_000)?.applied).toBe(true);
  });
});

describe('the digest that chaos compares across replicas', () => {
  it('tells apart replicas that differ only in a key’s expiresAt', () => {
    const [shorter, longer] = [new KvStateMachine(), new KvStateMachine()];
    applyToAll([shorter], [{ time: 0, command: { op: 'set', key: 'k', value: 1, ttlMs: 100 } }]);
    applyToAll([longer], [{ time: 0, command: { op: 'set', key: 'k', value: 1, ttlMs: 200 } }]);
    expect(shorter.get('', 'k')?.value).toBe(longer.get('', 'k')?.value);
    expect(shorter.usedBytes).toBe(longer.usedBytes);
    expect(shorter.digest()).not.toBe(longer.digest());
  });

  it('tells apart replicas that differ only in the exactly-once session table', () => {
    const [a, b] = [new KvStateMachine(), new KvStateMachine()];
    // Client ids of one length: the data and the bytes counted are the same on both.
    applyToAll(
      [a],
      [{ time: 0, session: { client: 'client-a', seq: 1 }, command: { op: 'set', key: 'k', value: 1 } }],
    );
    applyToAll(
      [b],
      [{ time: 0, session: { client: 'client-b', seq: 1 }, command: { op: 'set', key: 'k', value: 1 } }],
    );
    expect(a.usedBytes).toBe(b.usedBytes);
    expect(a.digest()).not.toBe(b.digest());
  });
});
