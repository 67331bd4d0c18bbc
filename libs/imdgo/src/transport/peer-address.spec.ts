import { describe, expect, it } from 'vitest';
import { parsePeerAddress } from './peer-address.ts';

describe('parsePeerAddress', () => {
  it('splits host and port', () => {
    expect(parsePeerAddress('127.0.0.1:4000')).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(parsePeerAddress('node-1.local:65535')).toEqual({ host: 'node-1.local', port: 65535 });
    expect(parsePeerAddress('[::1]:4000')).toEqual({ host: '::1', port: 4000 });
  });

  it.each(['', '4000', ':4000', 'host:', 'host:0', 'host:70000', 'host:12.5', 'host:port'])(
    'rejects "%s"',
    (id) => expect(() => parsePeerAddress(id)).toThrow(/invalid peer id/),
  );
});
