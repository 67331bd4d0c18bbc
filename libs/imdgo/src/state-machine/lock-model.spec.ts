import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.ts';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, stampCommand, type KvCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { LockHistoryChecker } from '../checker/lock-history.ts';
import { ELECTION_SPACE, LOCK_SESSION_SPACE, LOCK_SPACE } from './lock-table.ts';
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
        checker.entryDone(index);
        expect(checker.violation).toBeNull();
        // Now and then a replica is replaced by one restored from another's snapshot.
        if (random.chance(0.05)) {
          const restored = new KvStateMachine();
          restored.restore(encodeImage(replicas[random.int(3)]!.capture()));
          replicas = replicas.map((r, i) => (i === 0 ? restored : r));
        }
      }
      const digest = replicas[0]!.digest();
      for (const replica of replicas) expect(replica.digest()).toBe(digest);
      // The checker's view of who holds what is the replicas' table.
      const held = [...checker.heldLocks()].map(([name, h]) => [name, h.session, h.owner, h.token]);
      const table = SPACES.flatMap((space) =>
        replicas[0]!.locks
          .holders(space)
          .map(([name, h]) => [`${space}/${name}`, h.session, h.owner, h.token]),
      );
      expect(table.sort()).toEqual(held.sort());
      expect(checker.handOvers).toBeGreaterThan(0);
      expect(checker.endedSessions).toBeGreaterThan(0);
    });
  }
});
