import { describe, expect, it } from 'vitest';
import type { CommandResult, KvCommand } from '../state-machine/commands.ts';
import { FRAME_HEADER_BYTES, packFrame, unpackBody } from '../transport/msgpack-codec.ts';
import { outcomeOf, resultOf } from './forward-outcome.ts';

const value = { name: 'Ada', tags: ['x'] };
const set: KvCommand = { op: 'set', key: 'k', value };
const applied: CommandResult = { applied: true, revision: 7, previous: 'old', value, version: 2 };

/** Through a frame and back, as the forwarding node receives it. */
const travel = (outcome: unknown): unknown => unpackBody(packFrame(outcome).subarray(FRAME_HEADER_BYTES));

describe('forwarded write outcomes', () => {
  it("leave out a value that is the write's own and give the forwarder its copy back", () => {
    const outcome = travel(outcomeOf(applied, set));
    expect(JSON.stringify(outcome)).not.toContain('Ada');
    const result = resultOf(outcome, set) as CommandResult;
    expect(result).toStrictEqual(applied);
    expect(result.value).toBe(value);
  });

  it('carry any other value, and the optional fields', () => {
    const refused: CommandResult = {
      applied: false,
      revision: 8,
      previous: 'stored',
      value: 'stored',
      version: 3,
      refusal: 'no-space',
      maxStoreBytes: 1024,
    };
    expect(resultOf(travel(outcomeOf(refused, set)), set)).toStrictEqual(refused);
    const increment: KvCommand = { op: 'increment', key: 'n', delta: 2 };
    const counted: CommandResult = { applied: true, revision: 9, previous: 1, value: 3, version: 4 };
    expect(resultOf(travel(outcomeOf(counted, increment)), increment)).toStrictEqual(counted);
    const removal: KvCommand = { op: 'delete', key: 'k' };
    const deleted: CommandResult = {
      applied: true,
      revision: 10,
      previous: 'x',
      value: undefined,
      version: 0,
    };
    expect(resultOf(travel(outcomeOf(deleted, removal)), removal)).toStrictEqual(deleted);
  });

  it('refuse a malformed answer: an unknown tag, too many fields, wrong types, a value the write lacks', () => {
    const good = outcomeOf(applied, set) as unknown[];
    const malformed = [
      [9, ...good.slice(1)],
      [...outcomeOf({ ...applied, value: 1 }, set), 1, 2, 3, 4, 5, 6],
      [good[0], 'yes', ...good.slice(2)],
      {},
    ];
    for (const outcome of malformed) expect(resultOf(outcome, set)).toBe('a malformed answer for this write');
    expect(resultOf(good, { op: 'delete', key: 'k' })).toBe('a malformed answer for this write');
    expect(resultOf('not the leader', set)).toBe('not the leader');
  });
});
