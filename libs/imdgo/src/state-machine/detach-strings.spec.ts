import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { encodeCommand, stampCommand } from './commands.ts';
import { detachStrings } from './detach-strings.ts';
import { KvStateMachine } from './kv-state-machine.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('stored values', () => {
  it('do not keep the text of the command they were decoded from alive', () => {
    const machine = new KvStateMachine();
    // Text after the value that no apply keeps: only a slice of the command's text would pin it.
    const padding = Array.from({ length: 100 }, (_, i) => `padding ${i}`.padEnd(90, '.'));
    const writes = 1_000;
    const before = heapUsed();
    for (let index = 1; index <= writes; index++) {
      const command = { op: 'set', key: `key-${index}`, value: 'v'.repeat(100), padding } as const;
      const data = stampCommand(encodeCommand({ command }), { time: 0, storeLimit: null });
      machine.apply({ index, term: 1, kind: 'command', data });
    }
    const grown = heapUsed() - before;
    // 1,000 values of 100 bytes; msgpackr slices strings out of up to ~6 KB of a command's text, so kept
    // slices would hold about 6 MB.
    expect(grown).toBeLessThan(1_500_000);
    expect(machine.get('', 'key-1')?.value).toBe('v'.repeat(100));
  });
});

describe('detachStrings', () => {
  it('stores a value that refers to itself', () => {
    const machine = new KvStateMachine();
    const value: { name: string; self?: unknown; list: unknown[] } = {
      name: 'a long string, copied',
      list: [],
    };
    value.self = value;
    value.list.push(value, 'another long string in the list');
    const data = stampCommand(encodeCommand({ command: { op: 'set', key: 'k', value } }), {
      time: 0,
      storeLimit: null,
    });
    expect(machine.apply({ index: 1, term: 1, kind: 'command', data }).result?.applied).toBe(true);
    const stored = machine.get('', 'k')?.value as typeof value;
    expect(stored).toEqual(value);
    expect(stored.self).toBe(stored);
    expect(stored.list[0]).toBe(stored);
  });

  it('keeps every value equal, nested strings and lone surrogates included', () => {
    const value = {
      text: 'é unicode ✓ and a lone surrogate \ud800 in a long string',
      list: ['a long string inside an array', 1, null, { deep: 'a long string deeper down' }],
      map: new Map([['k', 'a long string in a Map']]),
      bytes: new Uint8Array([1, 2, 3]),
    };
    expect(detachStrings(structuredClone(value))).toEqual(value);
    expect(detachStrings('short')).toBe('short');
    expect(detachStrings(42)).toBe(42);
  });
});
