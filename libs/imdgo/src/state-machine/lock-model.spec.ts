import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.ts';
import type { Entry } from '../raft/types.ts';
import type { ChangeEvent } from './change-event.ts';
import { encodeCommand, stampCommand, type KvCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { ELECTION_SPACE, LOCK_SESSION_SPACE, LOCK_SPACE, type LockHolder } from './lock-table.ts';
import { encodeImage } from './snapshot-image.ts';

const SESSION_TTL = 1_000;
const NAMES = ['a', 'b'];
const OWNERS = ['o1', 'o2'];
const SPACES = [LOCK_SPACE, ELECTION_SPACE];

/** A random lock command, as the clients of three nodes (and the leader's expiry proposals) would log it. */
function randomCommand(random: SeededRandom, sessions: string[], nextSession: () => string): KvCommand {
  const pick = <T>(items: readonly T[]): T => items[random.int(items.length)]!;
  // Clients open a session once, under a fresh id, and only renew it after: an ended session stays ended.
  if (sessions.length === 0 || random.chance(0.04)) {
    return { op: 'lock-session', key: nextSession(), node: 'n', ttlMs: SESSION_TTL, open: true };
  }
  const session = pick(sessions);
  const map = pick(SPACES);
  const target = { map, key: pick(NAMES), session, owner: pick(OWNERS) };
  const roll = random.int(100);
  if (roll < 15) return { op: 'lock-session', key: session, node: 'n', ttlMs: SESSION_TTL, open: false };
  if (roll < 17) return { op: 'lock-session-close', key: session };
  if (roll < 40) return { op: 'lock-release', ...target };
  if (roll < 45) return { op: 'lock-cancel', ...target };
  if (roll < 50) return { op: 'expire', map: LOCK_SESSION_SPACE, key: session, revision: 0 };
  return { op: 'lock-acquire', ...target, wait: random.chance(0.7), reentrant: map === LOCK_SPACE };
}

/**
 * What the lock events say, checked as they come: a lock changes hands only from the holder the checker last
 * saw (so never two holders at once), each grant's token is above every earlier one of that name, a session
 * expires or closes once and holds nothing after, and nothing is granted to a session that is gone.
 */
class LockHistoryChecker {
  private readonly holders = new Map<string, LockHolder>();
  private readonly lastToken = new Map<string, number>();
  private readonly ended = new Set<string>();
  /** Hand-overs to a waiter and ended sessions seen: a run that made none proves little. */
  handOvers = 0;

  get endedSessions(): number {
    return this.ended.size;
  }

  observe(change: ChangeEvent): void {
    if (change.map === LOCK_SESSION_SPACE) {
      if (change.type === 'set') return;
      if (this.ended.has(change.key)) throw new Error(`session ${change.key} ended twice`);
      this.ended.add(change.key);
      return;
    }
    if (!SPACES.includes(change.map)) return;
    const name = `${change.map}/${change.key}`;
    const known = this.holders.get(name);
    // Reentrant counts change without an event: who holds it, and with which token, is what must match.
    expect(identity(change.previous), `${name} changed hands from the holder last seen`).toEqual(
      identity(known),
    );
    const next = change.value as LockHolder | undefined;
    if (!next) {
      this.holders.delete(name);
      return;
    }
    if (change.previous) this.handOvers++;
    if (this.ended.has(next.session)) throw new Error(`${name} granted to ended session ${next.session}`);
    const last = this.lastToken.get(name) ?? 0;
    if (next.token <= last) throw new Error(`${name}: token ${next.token} after ${last}`);
    this.lastToken.set(name, next.token);
    this.holders.set(name, next);
  }

  /** After an entry: no lock is held by a session that ended. */
  checkNoEndedHolder(): void {
    for (const [name, holder] of this.holders) {
      if (this.ended.has(holder.session)) throw new Error(`${name} still held by ended ${holder.session}`);
    }
  }

  /** The checker's view equals the replica's table. */
  matches(machine: KvStateMachine): void {
    const actual = SPACES.flatMap((space) =>
      machine.locks.holders(space).map(([n, h]) => [`${space}/${n}`, h]),
    );
    const seen = [...this.holders].map(([name, holder]) => [name, identity(holder)]);
    const held = actual.map(([name, holder]) => [name, identity(holder as LockHolder)]);
    expect(held.sort()).toEqual(seen.sort());
  }
}

function identity(holder: unknown): unknown {
  if (!holder) return holder;
  const { session, owner, token } = holder as LockHolder;
  return { session, owner, token };
}

function entry(index: number, time: number, command: KvCommand): Entry {
  const data = stampCommand(encodeCommand({ command }), { time, storeLimit: null });
  return { index, term: 1, kind: 'command', data };
}

describe('lock table model: random command sequences on three replicas', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: replicas agree, locks and elections have one holder and rising tokens`, () => {
      const random = new SeededRandom(seed);
      let replicas = [new KvStateMachine(), new KvStateMachine(), new KvStateMachine()];
      const checker = new LockHistoryChecker();
      const sessions: string[] = [];
      let sessionCount = 0;
      const nextSession = () => {
        const id = `s${++sessionCount}`;
        sessions.push(id);
        return id;
      };
      let time = 0;
      for (let step = 0; step < 500; step++) {
        time += random.int(60);
        const command = randomCommand(random, sessions, nextSession);
        const index = replicas[0]!.appliedIndex + 1;
        const outputs = replicas.map((machine) => machine.apply(entry(index, time, command)));
        for (const output of outputs.slice(1)) expect(output).toEqual(outputs[0]);
        for (const change of outputs[0]!.changes) checker.observe(change);
        checker.checkNoEndedHolder();
        // Now and then a replica is replaced by one restored from another's snapshot.
        if (random.chance(0.05)) {
          const restored = new KvStateMachine();
          restored.restore(encodeImage(replicas[random.int(3)]!.capture()));
          replicas = replicas.map((r, i) => (i === 0 ? restored : r));
        }
      }
      const digest = replicas[0]!.digest();
      for (const replica of replicas) expect(replica.digest()).toBe(digest);
      checker.matches(replicas[0]!);
      expect(checker.handOvers).toBeGreaterThan(0);
      expect(checker.endedSessions).toBeGreaterThan(0);
    });
  }
});
