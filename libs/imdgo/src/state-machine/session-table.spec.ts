import { describe, expect, it } from 'vitest';
import type { CommandResult, SessionStamp } from './commands.ts';
import { SessionTable, type SessionExport } from './session-table.ts';

const result = (revision: number): CommandResult => ({
  applied: true,
  revision,
  previous: undefined,
  value: revision,
  version: 1,
});

/** The rule for one client's session, stated plainly: on each write, forget every result below `firstUnacked`. */
class PlainSession {
  firstKept = 0;
  readonly results = new Map<number, number>();

  record(stamp: SessionStamp, bytes: number): void {
    const firstUnacked = stamp.firstUnacked ?? stamp.seq;
    if (firstUnacked > this.firstKept) {
      this.firstKept = firstUnacked;
      for (const seq of this.results.keys()) if (seq < firstUnacked) this.results.delete(seq);
    }
    this.results.set(stamp.seq, bytes);
  }
}

/** A deterministic pseudo-random sequence (the state machine may not use Math.random; tests need repeats). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('SessionTable', () => {
  it('forgets exactly the acknowledged results, whether writes apply in order or not', () => {
    for (const [seed, shuffled] of [
      [1, false],
      [2, true],
      [3, true],
    ] as const) {
      const random = lcg(seed);
      const table = new SessionTable();
      const plain = new PlainSession();
      // 64 writes in flight: each acknowledges everything but the 64 before it.
      const order = Array.from({ length: 1_000 }, (_, i) => i + 1);
      if (shuffled) {
        // Retries and forwarding reorder neighbouring writes.
        for (let i = order.length - 1; i > 0; i--) {
          if (random() < 0.2) [order[i], order[i - 1]] = [order[i - 1]!, order[i]!];
        }
      }
      for (const seq of order) {
        const stamp = { client: 'c', seq, firstUnacked: Math.max(1, seq - 64) };
        table.record(stamp, result(seq), seq, 0);
        plain.record(stamp, seq);
        const [[, firstKept, , results]] = table.export() as [SessionExport[number]];
        expect(firstKept).toBe(plain.firstKept);
        expect(results.map(([kept, , bytes]) => [kept, bytes])).toEqual([...plain.results]);
        expect(table.retainedBytes).toBe([...plain.results.values()].reduce((sum, bytes) => sum + bytes, 0));
      }
      // A snapshot's copy goes on forgetting alike.
      const restored = SessionTable.import(table.export());
      const next = { client: 'c', seq: 1_001, firstUnacked: 990 };
      table.record(next, result(1_001), 1, 0);
      restored.record(next, result(1_001), 1, 0);
      expect(restored.export()).toEqual(table.export());
      expect(restored.retainedBytes).toBe(table.retainedBytes);
    }
  });
  it('forgets exactly the acknowledged results when stamps jump, acknowledge their own write or are not integers', () => {
    for (const seed of [4, 5, 6, 7]) {
      const random = lcg(seed);
      const table = new SessionTable();
      const plain = new PlainSession();
      let seq = 0;
      for (let i = 0; i < 2_000; i++) {
        const draw = random();
        // Mostly in order with 64 in flight; now and then a jump, a repeat, a fraction or an early ack.
        seq = draw < 0.01 ? seq + 100 : draw < 0.02 ? seq - 3 : draw < 0.05 ? seq + 0.5 : Math.floor(seq) + 1;
        const ack = random();
        const firstUnacked =
          ack < 0.01 ? seq + 1.5 : ack < 0.03 ? seq - 60.5 : Math.max(1, Math.floor(seq) - 64);
        const stamp = { client: 'c', seq, firstUnacked };
        // As applies do: a duplicate or stale write is answered, not recorded.
        if (table.lookup(stamp) !== null) continue;
        table.record(stamp, result(i), i, 0);
        plain.record(stamp, i);
        const [[, firstKept, , results]] = table.export() as [SessionExport[number]];
        expect(firstKept).toBe(plain.firstKept);
        expect(results.map(([kept, , bytes]) => [kept, bytes])).toEqual([...plain.results]);
        expect(table.retainedBytes).toBe([...plain.results.values()].reduce((sum, bytes) => sum + bytes, 0));
      }
    }
  });

  it('drops exactly the sessions idle for idleMs, as a walk of every session on every entry would', () => {
    for (const seed of [8, 9, 10]) {
      const random = lcg(seed);
      const idleMs = 100;
      let table = new SessionTable(idleMs);
      /** Each client's last activity, checked in full on every entry. */
      const plain = new Map<string, number>();
      let time = 0;
      let seq = 0;
      for (let i = 0; i < 3_000; i++) {
        // Bursts and long pauses, so that every session may go idle and new ones start after.
        time += random() < 0.02 ? 250 : Math.floor(random() * 10);
        table.expireIdle(time);
        for (const [client, lastActive] of plain) if (lastActive + idleMs <= time) plain.delete(client);
        if (random() < 0.7) {
          const client = `c${Math.floor(random() * 6)}`;
          seq++;
          table.record({ client, seq }, result(seq), 1, time);
          plain.set(client, time);
        }
        expect(
          table
            .export()
            .map(([client, , lastActive]) => [client, lastActive])
            .sort(),
        ).toEqual([...plain].sort());
        // A snapshot's copy from here on drops alike.
        if (i % 500 === 499) table = SessionTable.import(table.export(), idleMs);
      }
    }
  });
});
