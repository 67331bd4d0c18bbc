import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, stampCommand, type KvCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { encodeImage } from './snapshot-image.ts';

function entry(index: number, command: KvCommand): Entry {
  const data = stampCommand(encodeCommand({ command }), { time: 1_000, storeLimit: null });
  return { index, term: 1, kind: 'command', data };
}

interface User {
  n: number;
  tags: string[];
  seen?: Map<string, number>;
}

const writes: KvCommand[] = [
  { op: 'set', key: 'u', value: { n: 1, tags: ['a'] } },
  { op: 'set', key: 'v', value: { n: 2, tags: ['b'], seen: new Map([['x', 1]]) } },
  { op: 'set', map: 'other', key: 'w', value: [{ n: 3, tags: [] }] },
];

/** Changes in place every value a read answers. */
function mutate(value: unknown): void {
  const users = (Array.isArray(value) ? value : [value]) as User[];
  for (const user of users) {
    user.n = 99;
    user.tags.push('changed');
    user.seen?.set('x', 99);
  }
}

describe('what a read of the state machine answers', () => {
  // Every record young (the stored objects), and every record in a chunk (decoded on each read).
  for (const youngRecords of [undefined, 0]) {
    it(`is the caller's own to change, with records kept ${youngRecords === 0 ? 'in chunks' : 'young'}`, () => {
      const reader = new KvStateMachine({ youngRecords });
      const other = new KvStateMachine({ youngRecords });
      for (const machine of [reader, other]) writes.forEach((write, i) => machine.apply(entry(i + 1, write)));

      mutate(reader.get('', 'u')!.value);
      mutate(reader.get('', 'v')!.value);
      for (const [, record] of reader.list('')) mutate(record.value);
      for (const [, record] of reader.list('other', { limit: 1 })) mutate(record.value);

      for (const [map, key] of [
        ['', 'u'],
        ['', 'v'],
        ['other', 'w'],
      ] as const) {
        expect(reader.get(map, key)).toStrictEqual(other.get(map, key));
      }
      expect(reader.get('', 'u')!.value).toStrictEqual({ n: 1, tags: ['a'] });
      expect(reader.digest()).toBe(other.digest());
      const restored = new KvStateMachine();
      restored.restore(encodeImage(reader.capture()));
      expect(restored.digest()).toBe(other.digest());
    });
  }
});
