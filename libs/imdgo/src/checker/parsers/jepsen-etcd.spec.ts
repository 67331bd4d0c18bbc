import { describe, expect, it } from 'vitest';
import { parseJepsenEtcd } from './jepsen-etcd.ts';

const sample = [
  'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
  'INFO  jepsen.util - 1\t:invoke\t:write\t3',
  'INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]',
  'INFO  jepsen.util - 0\t:ok\t:read\tnil',
  'INFO  jepsen.util - 1\t:ok\t:write\t3',
  'INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]',
  'INFO  jepsen.util - 0     :invoke :read   nil',
  'INFO  jepsen.util - 0     :ok     :read   3',
  'INFO  jepsen.util - 3\t:invoke\t:read\tnil',
  'INFO  jepsen.util - 3\t:fail\t:read\t:timed-out',
  'INFO  jepsen.util - 4\t:invoke\t:cas\t[1 2]',
  'INFO  jepsen.util - 4\t:info\t:cas\t:timed-out',
  'INFO  jepsen.util - 5\t:invoke\t:write\t0',
  '',
].join('\n');

describe('parseJepsenEtcd', () => {
  it('reads reads, writes and cas, with failed reads dropped and timeouts unknown', () => {
    expect(parseJepsenEtcd(sample)).toEqual([
      { clientId: 0, input: { op: 'read' }, call: 0, output: { value: null }, return: 3 },
      { clientId: 1, input: { op: 'write', value: 3 }, call: 1, output: { ok: true }, return: 4 },
      { clientId: 2, input: { op: 'cas', from: 3, to: 4 }, call: 2, output: { ok: false }, return: 5 },
      { clientId: 0, input: { op: 'read' }, call: 6, output: { value: 3 }, return: 7 },
      { clientId: 4, input: { op: 'cas', from: 1, to: 2 }, call: 10, output: undefined, return: Infinity },
      { clientId: 5, input: { op: 'write', value: 0 }, call: 12, output: undefined, return: Infinity },
    ]);
  });

  it('names the line it cannot read', () => {
    expect(() => parseJepsenEtcd('INFO  jepsen.util - 0\t:invoke\t:read\tnil\ngarbage')).toThrow(
      'line 2: not a jepsen.util event',
    );
    expect(() => parseJepsenEtcd('INFO  jepsen.util - 0\t:invoke\t:cas\t[1]')).toThrow('line 1: cas needs');
  });
});
