import { describe, expect, it } from 'vitest';
import { parsePorcupineKv } from './porcupine-kv.ts';

const sample = `{:process 0, :type :invoke, :f :put, :key "a", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "a", :value nil}
{:process 0, :type :ok, :f :put, :key "a", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "a", :value "say \\"hi\\""}
{:process 2, :type :invoke, :f :append, :key "b", :value "z"}
`;

describe('parsePorcupineKv', () => {
  it('reads get, put and append, leaving uncompleted calls unknown', () => {
    expect(parsePorcupineKv(sample)).toEqual([
      {
        clientId: 0,
        input: { op: 'put', key: 'a', value: 'x 0 0 y' },
        call: 0,
        output: { ok: true },
        return: 2,
      },
      {
        clientId: 1,
        input: { op: 'get', key: 'a', value: '' },
        call: 1,
        output: { value: 'say "hi"' },
        return: 3,
      },
      {
        clientId: 2,
        input: { op: 'append', key: 'b', value: 'z' },
        call: 4,
        output: undefined,
        return: Infinity,
      },
    ]);
  });

  it('names the line it cannot read', () => {
    expect(() =>
      parsePorcupineKv('{:process 0, :type :invoke, :f :get, :key "a"}\n{:process 0 :type'),
    ).toThrow('line 2: not an EDN map');
    expect(() => parsePorcupineKv('{:process 0, :type :invoke, :f :frob, :key "a"}')).toThrow(
      'line 1: missing or unknown :f',
    );
    expect(() => parsePorcupineKv('{:process 0, :type :invoke, :f :put, :key "a", :value nil}')).toThrow(
      'line 1: put needs a string value',
    );
  });
});
