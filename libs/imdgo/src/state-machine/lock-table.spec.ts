import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, parseCommand, stampCommand, type KvCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import {
  ELECTION_SPACE,
  LOCK_SESSION_SPACE,
  LOCK_SPACE,
  type LockHolder,
  type LockOutcome,
} from './lock-table.ts';
import { encodeImage } from './snapshot-image.ts';

const TTL = 1_000;

/** Applies `command` as the next entry, stamped with log time `time`. */
function apply(machine: KvStateMachine, time: number, command: KvCommand) {
  const data = stampCommand(encodeCommand({ command }), { time, storeLimit: null });
  const entry: Entry = { index: machine.appliedIndex + 1, term: 1, kind: 'command', data };
  return machine.apply(entry);
}

function open(machine: KvStateMachine, time: number, session: string, node = session) {
  return apply(machine, time, { op: 'lock-session', key: session, node, ttlMs: TTL, open: true });
}

function acquire(machine: KvStateMachine, time: number, session: string, owner: string, wait = true) {
  const command: KvCommand = {
    op: 'lock-acquire',
    map: LOCK_SPACE,
    key: 'L',
    session,
    owner,
    wait,
    reentrant: true,
  };
  return apply(machine, time, command).result!.value as LockOutcome;
}

function release(machine: KvStateMachine, time: number, session: string, owner: string) {
  return apply(machine, time, { op: 'lock-release', map: LOCK_SPACE, key: 'L', session, owner });
}

function bad(command: object) {
  return parseCommand(encodeCommand({ command } as never));
}

describe('lock table', () => {
  it('grants a free lock with the acquiring revision as its fencing token, and queues the others FIFO', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    open(m, 0, 's2');
    open(m, 0, 's3');
    expect(acquire(m, 10, 's1', 'a')).toEqual({ token: 4, queued: false, session: true });
    expect(acquire(m, 10, 's2', 'b')).toEqual({ token: null, queued: true, session: true });
    expect(acquire(m, 10, 's3', 'c')).toEqual({ token: null, queued: true, session: true });
    // The release hands the lock to the first waiter, in the release's own entry, with a new token.
    const handed = release(m, 20, 's1', 'a');
    expect(handed.changes).toEqual([
      {
        type: 'set',
        map: LOCK_SPACE,
        key: 'L',
        value: { session: 's2', owner: 'b', node: 's2', token: 7, count: 1 },
        previous: { session: 's1', owner: 'a', node: 's1', token: 4, count: 1 },
        revision: 7,
      },
    ]);
    release(m, 30, 's2', 'b');
    expect(m.locks.holder(LOCK_SPACE, 'L')).toMatchObject({ owner: 'c', token: 8 });
  });

  it('is reentrant per owner: the owner acquiring again counts up and keeps its token', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    expect(acquire(m, 0, 's1', 'a').token).toBe(2);
    expect(acquire(m, 0, 's1', 'a').token).toBe(2);
    // Another owner (another lock object) of the same session does not get it.
    expect(acquire(m, 0, 's1', 'other', false)).toEqual({ token: null, queued: false, session: true });
    release(m, 0, 's1', 'a');
    expect(m.locks.holder(LOCK_SPACE, 'L')).toMatchObject({ owner: 'a', count: 1 });
    release(m, 0, 's1', 'a');
    expect(m.locks.holder(LOCK_SPACE, 'L')).toBeNull();
  });

  it('gives an election holder its token back without counting up', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    const campaign: KvCommand = {
      op: 'lock-acquire',
      map: ELECTION_SPACE,
      key: 'E',
      session: 's1',
      owner: 'a',
      wait: true,
      reentrant: false,
    };
    apply(m, 0, campaign);
    apply(m, 0, campaign);
    expect(m.locks.holder(ELECTION_SPACE, 'E')).toMatchObject({ token: 2, count: 1 });
    apply(m, 0, { op: 'lock-release', map: ELECTION_SPACE, key: 'E', session: 's1', owner: 'a' });
    expect(m.locks.holder(ELECTION_SPACE, 'E')).toBeNull();
  });

  it('expires a session not renewed for its TTL at the first entry whose log time reaches it', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    open(m, 0, 's2');
    acquire(m, 0, 's1', 'a');
    acquire(m, 0, 's2', 'b');
    // s2 renews by its writes (its waiting acquire at 0, a heartbeat at 600); s1 last spoke at 0.
    apply(m, 600, { op: 'lock-session', key: 's2', node: 's2', ttlMs: TTL, open: false });
    expect(apply(m, 999, { op: 'set', key: 'x', value: 1 }).changes.map((c) => c.map)).toEqual(['']);
    expect(m.locks.hasSession('s1')).toBe(true);
    const expiring = apply(m, 1_000, { op: 'set', key: 'x', value: 2 });
    expect(expiring.changes.map((c) => [c.type, c.map, c.key])).toEqual([
      ['expire', LOCK_SESSION_SPACE, 's1'],
      ['set', LOCK_SPACE, 'L'],
      ['set', '', 'x'],
    ]);
    expect(m.locks.holder(LOCK_SPACE, 'L')).toMatchObject({ session: 's2', token: expiring.index });
    // An expired session is never revived: its renewal fails, and so do its lock commands.
    const renewal = apply(m, 1_100, { op: 'lock-session', key: 's1', node: 's1', ttlMs: TTL, open: false });
    expect(renewal.result!.applied).toBe(false);
    expect(acquire(m, 1_100, 's1', 'a')).toEqual({ token: null, queued: false, session: false });
  });

  it('hands a lock on once, with one token, when its holder and first waiter expire in one entry', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    open(m, 0, 's2');
    acquire(m, 0, 's1', 'a');
    acquire(m, 0, 's2', 'b');
    open(m, 500, 's3');
    acquire(m, 500, 's3', 'c');
    const expiring = apply(m, 1_200, { op: 'set', key: 'x', value: 1 });
    const lockEvents = expiring.changes.filter((c) => c.map === LOCK_SPACE);
    expect(lockEvents).toHaveLength(1);
    expect(lockEvents[0]!.value).toMatchObject({ session: 's3', token: expiring.index });
  });

  it('gives a lock handed over twice in one entry (by the expiry, then by the command) two rising tokens', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    acquire(m, 0, 's1', 'a');
    open(m, 500, 's2');
    acquire(m, 500, 's2', 'b');
    open(m, 500, 's3');
    acquire(m, 500, 's3', 'c');
    // At 1000 s1 expires (the lock goes to s2), and the entry's own command closes s2 (it goes on to s3).
    const entry = apply(m, 1_000, { op: 'lock-session-close', key: 's2' });
    const grants = entry.changes.filter((c) => c.map === LOCK_SPACE && c.type === 'set');
    const tokens = grants.map((c) => (c.value as LockHolder).token);
    expect(grants.map((c) => (c.value as LockHolder).session)).toEqual(['s2', 's3']);
    expect(tokens[1]).toBeGreaterThan(tokens[0]!);
    // And the token stays above every earlier one once the lock is freed and taken again.
    release(m, 1_000, 's3', 'c');
    open(m, 1_000, 's4');
    expect(acquire(m, 1_000, 's4', 'd').token).toBeGreaterThan(tokens[1]!);
  });

  it('frees everything a closed session held and drops its waits', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    open(m, 0, 's2');
    acquire(m, 0, 's1', 'a');
    acquire(m, 0, 's2', 'b');
    apply(m, 0, { op: 'lock-session-close', key: 's2' });
    apply(m, 0, { op: 'lock-session-close', key: 's1' });
    expect(m.locks.holder(LOCK_SPACE, 'L')).toBeNull();
    expect(m.locks.export()).toMatchObject({ sessions: [], locks: [] });
  });

  it('lets a waiter cancel, and tells a cancelling waiter that already got the lock its token', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    open(m, 0, 's2');
    acquire(m, 0, 's1', 'a');
    acquire(m, 0, 's2', 'b');
    const cancel: KvCommand = { op: 'lock-cancel', map: LOCK_SPACE, key: 'L', session: 's2', owner: 'b' };
    expect(apply(m, 0, cancel).result!.value).toMatchObject({ token: null });
    release(m, 0, 's1', 'a');
    expect(m.locks.holder(LOCK_SPACE, 'L')).toBeNull();
    acquire(m, 0, 's1', 'a');
    acquire(m, 0, 's2', 'b');
    const handed = release(m, 0, 's1', 'a');
    expect(apply(m, 0, cancel).result!.value).toMatchObject({ token: handed.index });
  });

  it('leads the leader to propose the expiry of an idle session, which applies at its stamped time', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    acquire(m, 0, 's1', 'a');
    expect(m.dueExpiries(999, 10)).toEqual([]);
    const due = m.dueExpiries(1_000, 10);
    expect(due).toEqual([{ map: LOCK_SESSION_SPACE, key: 's1', revision: 2 }]);
    const applied = apply(m, 1_000, { op: 'expire', ...due[0]! });
    expect(applied.result!.applied).toBe(true);
    expect(m.locks.holder(LOCK_SPACE, 'L')).toBeNull();
  });

  it('survives a snapshot: the restored replica holds the same locks, waiters and sessions', () => {
    const m = new KvStateMachine();
    open(m, 0, 's1');
    open(m, 0, 's2');
    acquire(m, 0, 's1', 'a');
    acquire(m, 0, 's2', 'b');
    const restored = new KvStateMachine();
    restored.restore(encodeImage(m.capture()));
    expect(restored.digest()).toBe(m.digest());
    // And goes on alike: s1 expires, the waiter gets the lock on both.
    const a = apply(m, 1_000, { op: 'set', key: 'x', value: 1 });
    const b = apply(restored, 1_000, { op: 'set', key: 'x', value: 1 });
    expect(b.changes).toEqual(a.changes);
    expect(restored.digest()).toBe(m.digest());
  });

  it('refuses malformed lock commands from peers with a reason', () => {
    expect(
      bad({
        op: 'lock-acquire',
        map: 'users',
        key: 'L',
        session: 's',
        owner: 'o',
        wait: true,
        reentrant: true,
      }),
    ).toBe('not a lock space');
    expect(bad({ op: 'lock-session', key: 's', node: 'n', ttlMs: -1, open: true })).toBe(
      'the session ttlMs is not a positive number',
    );
    expect(bad({ op: 'lock-release', map: LOCK_SPACE, key: 'L', session: 1, owner: 'o' })).toBe(
      'the session or owner is not a string',
    );
  });
});
