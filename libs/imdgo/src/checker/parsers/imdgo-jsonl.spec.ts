import { describe, expect, it } from 'vitest';
import { formatImdgoHistory, imdgoEventsToOperations, parseImdgoHistory } from './imdgo-jsonl.ts';
import type { ImdgoHistoryEvent } from './imdgo-jsonl.ts';

const events: ImdgoHistoryEvent[] = [
  { process: 3, type: 'invoke', f: 'set', key: 'k1', value: { n: 5 } },
  { process: 4, type: 'invoke', f: 'get', key: 'k1' },
  { process: 3, type: 'ok', f: 'set', key: 'k1' },
  { process: 4, type: 'ok', f: 'get', key: 'k1', value: null },
  { process: 5, type: 'invoke', f: 'cas', key: 'k1', value: [{ n: 5 }, 6] },
  { process: 5, type: 'fail', f: 'cas', key: 'k1', value: [{ n: 5 }, 6] },
  { process: 6, type: 'invoke', f: 'delete', key: 'k2' },
  { process: 6, type: 'fail', f: 'delete', key: 'k2' },
  { process: 7, type: 'invoke', f: 'delete', key: 'k2' },
  { process: 7, type: 'info', f: 'delete', key: 'k2' },
  { process: 8, type: 'invoke', f: 'set', key: 'k2', value: 'v' },
];

/** Parsing `line` as the second line of a file. */
function bad(line: string): () => unknown {
  return () => parseImdgoHistory(`\n${line}\n`);
}

describe('imdgo JSON-lines histories', () => {
  it('writes one event a line with fields in a fixed order', () => {
    const text = formatImdgoHistory(events.slice(0, 3));
    expect(text).toBe(
      '{"process":3,"type":"invoke","f":"set","key":"k1","value":{"n":5}}\n' +
        '{"process":4,"type":"invoke","f":"get","key":"k1"}\n' +
        '{"process":3,"type":"ok","f":"set","key":"k1"}\n',
    );
  });

  it('reads what it writes into operations', () => {
    const ops = parseImdgoHistory(formatImdgoHistory(events));
    expect(ops).toEqual([
      {
        clientId: 3,
        input: { op: 'set', key: 'k1', value: { n: 5 } },
        call: 0,
        output: { ok: true },
        return: 2,
      },
      { clientId: 4, input: { op: 'get', key: 'k1' }, call: 1, output: { value: null }, return: 3 },
      {
        clientId: 5,
        input: { op: 'cas', key: 'k1', expected: { n: 5 }, next: 6 },
        call: 4,
        output: { ok: false },
        return: 5,
      },
      // A delete that failed found nothing to delete.
      { clientId: 6, input: { op: 'delete', key: 'k2' }, call: 6, output: { ok: false }, return: 7 },
      { clientId: 7, input: { op: 'delete', key: 'k2' }, call: 8, output: undefined, return: Infinity },
      {
        clientId: 8,
        input: { op: 'set', key: 'k2', value: 'v' },
        call: 10,
        output: undefined,
        return: Infinity,
      },
    ]);
    expect(imdgoEventsToOperations(events)).toEqual(ops);
  });

  it('reads increments, conditional writes, versions and TTLs', () => {
    const history: ImdgoHistoryEvent[] = [
      { process: 1, type: 'invoke', f: 'increment', key: 'k', value: 2, ttl: 500 },
      { process: 1, type: 'ok', f: 'increment', key: 'k', value: 2 },
      { process: 1, type: 'invoke', f: 'get', key: 'k' },
      { process: 1, type: 'ok', f: 'get', key: 'k', value: 2, version: 1 },
      { process: 1, type: 'invoke', f: 'setIfVersion', key: 'k', value: [1, 9] },
      { process: 1, type: 'fail', f: 'setIfVersion', key: 'k' },
      { process: 1, type: 'invoke', f: 'putIfAbsent', key: 'k', value: 3 },
      { process: 1, type: 'ok', f: 'putIfAbsent', key: 'k' },
    ];
    expect(parseImdgoHistory(formatImdgoHistory(history)).map((op) => [op.input, op.output])).toEqual([
      [{ op: 'increment', key: 'k', delta: 2, ttl: true }, { value: 2 }],
      [
        { op: 'get', key: 'k' },
        { value: 2, version: 1 },
      ],
      [{ op: 'setIfVersion', key: 'k', version: 1, value: 9 }, { ok: false }],
      [{ op: 'putIfAbsent', key: 'k', value: 3 }, { ok: true }],
    ]);
    expect(bad('{"process":1,"type":"invoke","f":"increment","key":"k","value":"1"}')).toThrow(
      'line 2: an increment needs a numeric delta',
    );
    expect(bad('{"process":1,"type":"invoke","f":"set","key":"k","value":1,"ttl":0}')).toThrow(
      'line 2: "ttl"',
    );
  });

  it('names the line it cannot read', () => {
    expect(bad('{"process":1,')).toThrow('line 2: not valid JSON');
    expect(bad('[1]')).toThrow('line 2: not a JSON object');
    expect(bad('{"process":-1,"type":"invoke","f":"get","key":"k"}')).toThrow('line 2: "process"');
    expect(bad('{"process":1,"type":"begin","f":"get","key":"k"}')).toThrow('line 2: "type"');
    expect(bad('{"process":1,"type":"invoke","f":"incr","key":"k"}')).toThrow('line 2: "f"');
    expect(bad('{"process":1,"type":"invoke","f":"get","key":7}')).toThrow('line 2: "key"');
    expect(bad('{"process":1,"type":"invoke","f":"set","key":"k"}')).toThrow(
      'line 2: a set invocation needs a value',
    );
    expect(bad('{"process":1,"type":"invoke","f":"cas","key":"k","value":[1]}')).toThrow(
      'line 2: a cas invocation',
    );
    expect(() =>
      parseImdgoHistory(
        '{"process":1,"type":"invoke","f":"get","key":"k"}\n{"process":1,"type":"ok","f":"get","key":"k"}',
      ),
    ).toThrow('line 2: an ok get needs the value read');
  });
});
