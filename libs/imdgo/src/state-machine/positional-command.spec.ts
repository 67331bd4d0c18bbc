import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import { FileStorage } from '../storage/file-storage.ts';
import { encodeCommand, parseCommand, stampCommand, type LoggedCommand } from './commands.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { toPositional } from './positional-command.ts';

/** Commands as `encodeCommand` wrote them before the positional encoding (objects with inline records). */
const LOGGED_AS_OBJECTS: readonly [hex: string, command: LoggedCommand][] = [
  [
    'd4724092a773657373696f6ea7636f6d6d616e64d4724193a6636c69656e74a3736571ac6669727374556e61636b6564a2633103' +
      '02d4724294a26f70a36b6579a576616c7565a574746c4d73a3736574a16ba176cd1388',
    {
      session: { client: 'c1', seq: 3, firstUnacked: 2 },
      command: { op: 'set', key: 'k', value: 'v', ttlMs: 5000 },
    },
  ],
  [
    'd4724092a773657373696f6ea7636f6d6d616e64d4724192a6636c69656e74a3736571a2633104d4724294a26f70a36d6170a36b' +
      '6579a564656c7461a9696e6372656d656e74a16da16e02',
    { session: { client: 'c1', seq: 4 }, command: { op: 'increment', map: 'm', key: 'n', delta: 2 } },
  ],
  [
    'd4724091a7636f6d6d616e64d4724194a26f70a36d6170a36b6579a87265766973696f6ea6657870697265a0a16b01',
    { command: { op: 'expire', map: '', key: 'k', revision: 1 } },
  ],
  [
    'd4724092a773657373696f6ea7636f6d6d616e64d4724192a6636c69656e74a3736571a2633105d4724293a26f70a36b6579a576' +
      '616c7565a3736574a36f626ad4724392a161a1620181a17801',
    {
      session: { client: 'c1', seq: 5 },
      command: { op: 'set', key: 'obj', value: { a: 1, b: new Map([['x', 1]]) } },
    },
  ],
];

const ROUND_TRIPS: readonly LoggedCommand[] = [
  { session: { client: 'c', seq: 7, firstUnacked: 5 }, command: { op: 'set', key: 'k', value: 'v' } },
  { command: { op: 'set', map: 'm', key: 'k', value: undefined, ifVersion: 3 } },
  { session: { client: 'c', seq: 3 }, command: { op: 'set', map: 'm', key: 'k', value: 1.5 } },
  { command: { op: 'set', key: 'k', value: undefined } },
  { command: { op: 'set', key: 'k', value: 'v', ifAbsent: false } },
  { command: { op: 'set', key: 'k', value: null, ttlMs: 10, ifAbsent: true } },
  { session: { client: 'c', seq: 1 }, command: { op: 'set', key: 'k', value: new Map([[1, { a: [2] }]]) } },
  { command: { op: 'cas', key: 'k', expected: undefined, value: 1 } },
  { command: { op: 'cas', map: '', key: 'k', expected: null, value: 'x', ttlMs: 0 } },
  { command: { op: 'increment', key: 'n', delta: -1.5, ttlMs: 100 } },
  { command: { op: 'delete', key: 'k' } },
  { command: { op: 'delete', key: 'k', ifVersion: 0 } },
  { command: { op: 'expire', map: 'm', key: 'k', revision: 9 } },
  {
    session: { client: 'c', seq: 2 },
    command: { op: 'lock-release', map: 'imdgo:locks', key: 'l', session: 's', owner: 'o' },
  },
  { command: { op: 'txn', compare: [], success: [{ op: 'delete', key: 'k' }], failure: [] } },
];

const objectPackr = new Packr(msgpackOptions());

describe('the positional command encoding', () => {
  it.each(ROUND_TRIPS.map((logged) => [logged.command.op, logged]))(
    'gives back exactly the %s command it encoded',
    (_op, logged) => {
      expect(parseCommand(encodeCommand(logged))).toStrictEqual(logged);
    },
  );

  it('encodes commands of primitives to the bytes the packr for any value gives', () => {
    const values = [
      'v',
      'é'.repeat(300),
      0,
      -0,
      1.5,
      Number.NaN,
      2 ** 40,
      -7,
      true,
      null,
      undefined,
      10n ** 30n,
    ];
    for (const value of values) {
      for (const logged of [
        { session: { client: 'c', seq: 9, firstUnacked: 2 }, command: { op: 'set', key: 'k', value } },
        { command: { op: 'cas', map: 'm', key: 'k', expected: value, value: 'x', ttlMs: 5 } },
      ] satisfies LoggedCommand[]) {
        expect(Buffer.from(encodeCommand(logged))).toEqual(
          Buffer.from(objectPackr.pack(toPositional(logged))),
        );
      }
    }
  });

  it('parses commands logged as objects before it existed', () => {
    for (const [hex, command] of LOGGED_AS_OBJECTS) {
      expect(parseCommand(Buffer.from(hex, 'hex'))).toStrictEqual(command);
    }
  });

  it('leaves the record definitions out: a small set takes under half the bytes it took as objects', () => {
    const logged: LoggedCommand = {
      session: { client: 'Xq3vY8b2Kp0wZr1m', seq: 12_345, firstUnacked: 12_300 },
      command: { op: 'set', key: 'user:42', value: 7 },
    };
    const asObjects = objectPackr.pack(logged).byteLength;
    expect(encodeCommand(logged).byteLength).toBeLessThan(asObjects / 2);
  });

  it.each([
    [[], 'a positional command shorter than its head'],
    [[null, null, null, 'put', null, 'k', 1], 'unknown operation put'],
    [[null, null, null, 'delete', null, 'k', null, 'extra'], 'a delete command with 8 fields'],
    [['c', 'one', null, 'delete', null, 'k'], 'a malformed session'],
    [['c', 1, 'two', 'delete', null, 'k'], 'a malformed session'],
    [[null, 1, null, 'delete', null, 'k'], 'a session without a client'],
    [[null, null, null, 'delete', 5, 'k'], 'the map is not a string'],
    [[null, null, null, 'delete', null, 5], 'the key is not a string'],
    [[null, null, null, 'set', null, 'k', 1, -1], 'ttlMs is not a finite number of milliseconds'],
    [[null, null, null, 'increment', null, 'k', 'x'], 'the delta is not a number'],
  ])('refuses the malformed %j: %s', (array, problem) => {
    expect(parseCommand(objectPackr.pack(array))).toBe(problem);
  });

  it('applies a log a data directory kept from before it, then positional entries after it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imdgo-positional-'));
    try {
      const stamp = { time: 1_000, storeLimit: null };
      const old = LOGGED_AS_OBJECTS.map(([hex], i) => ({
        index: i + 1,
        term: 1,
        kind: 'command' as const,
        data: stampCommand(Buffer.from(hex, 'hex'), stamp),
      }));
      const next = {
        index: old.length + 1,
        term: 1,
        kind: 'command' as const,
        data: stampCommand(
          encodeCommand({ command: { op: 'increment', map: 'm', key: 'n', delta: 40 } }),
          stamp,
        ),
      };
      const writing = new FileStorage({ dir });
      await writing.load();
      await writing.save({ term: 1, vote: null, commit: old.length }, old);
      await writing.close();
      const reading = new FileStorage({ dir });
      const { entries } = await reading.load();
      await reading.save(null, [next]);
      await reading.close();

      const machine = new KvStateMachine();
      for (const entry of [...entries, next]) machine.apply(entry);
      // The logged expire is refused: the key's TTL (from the set) has not passed by the entries' time.
      expect(machine.get('', 'k')).toMatchObject({ value: 'v', expiresAt: 6_000 });
      expect(machine.get('m', 'n')?.value).toBe(42);
      expect(machine.get('', 'obj')?.value).toStrictEqual({ a: 1, b: new Map([['x', 1]]) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
