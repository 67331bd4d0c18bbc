import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.ts';
import { kvRecord, valueSize, type KvRecord } from './kv-record.ts';
import { RecordTable } from './record-table.ts';

/** Values of every kind a command can carry, mostly strings, some large enough to span chunks. */
function randomValue(random: SeededRandom): unknown {
  const roll = random.int(100);
  if (roll < 55) return 'v'.repeat(random.int(300));
  if (roll < 62) return 'é€😀'.repeat(random.int(40));
  if (roll < 70) return random.int(1_000_000) - 500;
  if (roll < 75) return random.next();
  if (roll < 80) return { nested: [1, 'two', null, { deep: true }], n: random.int(10) };
  if (roll < 84)
    return new Map<string, unknown>([
      ['a', 1],
      ['b', [2]],
    ]);
  if (roll < 88) return new Date(random.int(1e12));
  if (roll < 91) return Buffer.from([1, 2, 3, random.int(256)]);
  if (roll < 94) return [1, undefined, 'x'.repeat(random.int(50))];
  if (roll < 96) return null;
  if (roll < 99) return '';
  return 'L'.repeat((1 << 20) + random.int(5_000));
}

function expectSame(actual: Iterable<[string, KvRecord]>, model: ReadonlyMap<string, KvRecord>): void {
  const entries = [...actual];
  expect(entries.map(([key]) => key)).toEqual([...model.keys()]);
  for (const [key, record] of entries) expect(record).toEqual(model.get(key));
}

describe('RecordTable', () => {
  it('answers as a Map of records would, and every frozen copy as the Map did when it was frozen', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const random = new SeededRandom(seed);
      // From every record in chunks to most of them young.
      const table = new RecordTable({ youngRecords: [0, 1, 7, 100][seed % 4] });
      const model = new Map<string, KvRecord>();
      const frozen: { copy: ReturnType<RecordTable['freeze']>; model: Map<string, KvRecord> }[] = [];
      // Few keys, many writes: chunks fill with overwritten records and must be reclaimed.
      const keys = Array.from({ length: 40 + random.int(200) }, (_, i) =>
        i % 7 === 0 ? `ключ-${i}` : `k${i}`,
      );
      for (let step = 1; step <= 6_000; step++) {
        const key = keys[random.int(keys.length)]!;
        if (random.chance(0.2)) {
          expect(table.delete(key)).toBe(model.delete(key));
        } else {
          const value = randomValue(random);
          const previous = model.get(key);
          const expiresAt = random.chance(0.3) ? random.int(1e9) : null;
          const size = valueSize(key, value);
          const args = [
            value,
            (previous?.version ?? 0) + 1,
            previous?.createRevision ?? step,
            step,
            expiresAt,
            size,
          ] as const;
          table.set(key, kvRecord(...args));
          // An overwrite keeps the key's place in the order, as in a Map.
          model.set(key, kvRecord(...args));
        }
        expect(table.get(key)).toEqual(model.get(key));
        expect(table.size).toBe(model.size);
        if (random.chance(0.003)) frozen.push({ copy: table.freeze(), model: new Map(model) });
      }
      expectSame(table, model);
      for (const { copy, model: then } of frozen) {
        expect(copy.size).toBe(then.size);
        expectSame(copy, then);
      }
    }
  });

  it('reclaims the chunks overwrites leave garbage: they stay within twice the live bytes', () => {
    const table = new RecordTable({ youngRecords: 0 });
    const value = 'x'.repeat(200);
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 1_000; i++) {
        table.set(`key-${i}`, kvRecord(value, round + 1, 1, round + 1, null, valueSize(`key-${i}`, value)));
      }
    }
    const liveBytes = 1_000 * (37 + 200);
    expect(table.chunkBytes).toBeLessThanOrEqual(2 * liveBytes + 2 * (1 << 20));
    expect(table.get('key-999')).toEqual(kvRecord(value, 200, 1, 200, null, valueSize('key-999', value)));
  });

  it('reclaims the chunks of deleted keys, also those of keys deleted before their chunk was emptied', () => {
    const table = new RecordTable({ youngRecords: 0 });
    const value = 'x'.repeat(200);
    const keys = Array.from({ length: 20_000 }, (_, i) => `key-${i}`);
    for (const key of keys) table.set(key, kvRecord(value, 1, 1, 1, null, valueSize(key, value)));
    // Every other key first, so that chunks are half garbage and their live records are moved.
    for (const [i, key] of keys.entries()) if (i % 2 === 0) table.delete(key);
    for (const [i, key] of keys.entries()) if (i % 2 === 1) table.delete(key);
    expect(table.size).toBe(0);
    expect(table.chunkBytes).toBeLessThanOrEqual(1 << 20);
  });

  it('gives each read of a record in a chunk a fresh value, so a caller changing it changes nothing stored', () => {
    const table = new RecordTable({ youngRecords: 0 });
    table.set('k', kvRecord({ list: [1] }, 1, 1, 1, null, 10));
    (table.get('k')!.value as { list: number[] }).list.push(2);
    expect(table.get('k')!.value).toEqual({ list: [1] });
  });

  it('packs a million records of 100-byte values in chunks of under 150 bytes a record', () => {
    const table = new RecordTable();
    const value = 'v'.repeat(100);
    for (let i = 0; i < 1_000_000; i++)
      table.set(`key:${i}`, kvRecord(value, 1, i, i, null, valueSize(`key:${i}`, value)));
    expect(table.chunkBytes).toBeLessThan(1_000_000 * 150);
    expect(table.get('key:999999')).toEqual(kvRecord(value, 1, 999_999, 999_999, null, 112));
  });
});
