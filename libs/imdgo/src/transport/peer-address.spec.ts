import { describe, expect, it } from 'vitest';
import { isPeerId, MAX_PEER_ID_LENGTH, parsePeerAddress } from './peer-address.ts';

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

describe('isPeerId', () => {
  it('accepts host:port ids, again once remembered', () => {
    expect(isPeerId('127.0.0.1:4000')).toBe(true);
    expect(isPeerId('127.0.0.1:4000')).toBe(true);
    expect(isPeerId('[::1]:4000')).toBe(true);
  });

  it.each([4000, null, '', 'host:0', 'host:port', `${'h'.repeat(MAX_PEER_ID_LENGTH)}:1`])(
    'refuses %s',
    (id) => expect(isPeerId(id)).toBe(false),
  );

  it('stays correct after more valid ids than it remembers', () => {
    for (let port = 1; port <= 1000; port++) expect(isPeerId(`10.0.0.1:${port}`)).toBe(true);
    expect(isPeerId('10.0.0.1:70000')).toBe(false);
    expect(isPeerId('10.0.0.1:1')).toBe(true);
  });
});
