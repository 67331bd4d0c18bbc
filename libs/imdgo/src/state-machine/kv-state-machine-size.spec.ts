import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.ts';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, stampCommand, type KvCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';

function entry(index: number, command: KvCommand, time: number): Entry {
  const body = encodeCommand({ command });
  return { index, term: 1, kind: 'command', data: stampCommand(body, { time, storeLimit: null }) };
}

describe('the size of a map', () => {
  it('counts its live keys: keys past their deadline whose expiry is not applied yet are left out', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const random = new SeededRandom(seed);
      const machine = new KvStateMachine({ youngRecords: seed % 2 === 0 ? 0 : undefined });
      // What the map holds, by "map/key": the key's deadline, or null for none.
      const model = new Map<string, number | null>();
      let time = 1_000;
      let mostLapsed = 0;
      for (let index = 1; index <= 2_000; index++) {
        time += random.int(30);
        const map = random.chance(0.3) ? 'other' : '';
        const key = `k${random.int(100)}`;
        // Expiries applied only now and then, so keys past their deadline pile up between them.
        const due = random.chance(0.2) ? machine.dueExpiries(time, 1)[0] : undefined;
        if (due) {
          machine.apply(
            entry(index, { op: 'expire', map: due.map, key: due.key, revision: due.revision }, time),
          );
          model.delete(`${due.map}/${due.key}`);
        } else if (random.chance(0.7)) {
          const ttlMs = random.chance(0.5) ? 100 : undefined;
          machine.apply(entry(index, { op: 'set', map, key, value: 'v', ttlMs }, time));
          model.set(`${map}/${key}`, ttlMs === undefined ? null : time + ttlMs);
        } else {
          machine.apply(entry(index, { op: 'delete', map, key }, time));
          model.delete(`${map}/${key}`);
        }
        for (const name of ['', 'other']) {
          const held = [...model].filter(([id]) => id.startsWith(`${name}/`));
          const live = held.filter(([, deadline]) => deadline === null || deadline > time).length;
          expect(machine.size(name)).toBe(live);
          mostLapsed = Math.max(mostLapsed, held.length - live);
        }
      }
      // The case the count must leave out did occur.
      expect(mostLapsed).toBeGreaterThan(5);
    }
  });
});
