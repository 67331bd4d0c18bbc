import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import {
  encodeCommand,
  encodedSize,
  parseCommand,
  commandStart,
  stampCommand,
  stampCommands,
  stampLimit,
  stampTime,
} from './commands.ts';

const packr = new Packr(msgpackOptions());

describe('encodedSize', () => {
  it('measures a string as msgpack encodes it, at every header size and in every UTF-8 width', () => {
    const lengths = [0, 1, 10, 31, 32, 63, 64, 85, 86, 255, 256, 21_845, 21_846, 65_535, 65_536, 70_000];
    const units = ['a', 'é', '€', '😀', '\ud800'];
    for (const unit of units) {
      for (const length of lengths) {
        const value = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
        expect(encodedSize(value), `${length} × ${JSON.stringify(unit)}`).toBe(packr.pack(value).byteLength);
      }
    }
  });

  it('measures other values by encoding them', () => {
    for (const value of [0, -1.5, 2 ** 40, null, undefined, true, { a: 'b' }, new Map([[1, 2]]), ['x']]) {
      expect(encodedSize(value)).toBe(packr.pack(value).byteLength);
    }
  });
});

describe('encodeCommand and stampCommands', () => {
  it('give each command bytes of its own, which later commands do not overwrite', () => {
    const commands = Array.from({ length: 500 }, (_, i) => ({
      session: { client: 'c', seq: i + 1 },
      command: { op: 'set' as const, key: `key:${i}`, value: 'v'.repeat(i) },
    }));
    const encoded = commands.map((command) => encodeCommand(command));
    const limit = { maxBytes: 1e6, evictTtl: true };
    const stamped = [
      ...stampCommands(encoded.slice(0, 250), { time: 7, storeLimit: limit }),
      ...encoded.slice(250).map((data) => stampCommand(data, { time: 8, storeLimit: null })),
    ];
    expect(encoded.map((data) => parseCommand(data))).toEqual(commands);
    expect(encoded.map((data) => commandStart(data))).toEqual(encoded.map(() => 0));
    stamped.forEach((data, i) => {
      expect(data).toBeInstanceOf(Uint8Array);
      const start = commandStart(data);
      expect(start).toBeGreaterThan(0);
      expect({ time: stampTime(data), storeLimit: stampLimit(data) }).toEqual(
        i < 250 ? { time: 7, storeLimit: limit } : { time: 8, storeLimit: null },
      );
      expect(parseCommand(data, start)).toEqual(commands[i]);
    });
  });
});
