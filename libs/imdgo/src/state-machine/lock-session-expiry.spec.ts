import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.ts';
import type { ChangeEvent } from './change-event.ts';
import { LOCK_SESSION_SPACE, LockTable } from './lock-table.ts';

/** Deadlines as the plain rule reads them off the exported table: renewed at + ttl. */
function deadlines(table: LockTable): Map<string, number> {
  return new Map(table.export().sessions.map(([id, , ttlMs, renewedAt]) => [id, renewedAt + ttlMs]));
}

describe('lock session expiry skips the scan only when no deadline can have passed', () => {
  for (let seed = 1; seed <= 30; seed++) {
    it(`seed ${seed}: each entry expires exactly the sessions whose deadline its time reached`, () => {
      const random = new SeededRandom(seed);
      // A restored table starts without a bound, so restoring midway is part of what is checked.
      let table = new LockTable();
      let time = 0;
      let revision = 0;
      let opened = 0;
      for (let step = 0; step < 400; step++) {
        time += random.int(150);
        revision++;
        const before = deadlines(table);
        const changes: ChangeEvent[] = [];
        table.expireDue(time, revision, changes);
        const expired = changes.filter((c) => c.map === LOCK_SESSION_SPACE && c.type === 'expire');
        const due = [...before].filter(([, deadline]) => deadline <= time).map(([id]) => id);
        expect(expired.map((c) => c.key).sort()).toEqual(due.sort());

        const live = [...deadlines(table).keys()];
        const roll = random.int(100);
        const key = roll < 40 || live.length === 0 ? `s${++opened}` : live[random.int(live.length)]!;
        // Short and long TTLs mixed: a new short session must lower the bound a long one set.
        const ttlMs = [50, 300, 2_000][random.int(3)]!;
        if (roll < 90) {
          table.execute({ op: 'lock-session', key, node: 'n', ttlMs, open: true }, revision, time, changes);
        } else {
          table.execute({ op: 'lock-session-close', key }, revision, time, changes);
        }
        if (random.chance(0.05)) table = LockTable.import(table.export());

        const later = time + random.int(400);
        const proposed = [...table.dueBy(later)].map((d) => d.id).sort();
        const naive = [...deadlines(table)].filter(([, d]) => d <= later).map(([id]) => id);
        expect(proposed).toEqual(naive.sort());
      }
    });
  }
});
