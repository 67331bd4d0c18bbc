import { describe, expect, it } from 'vitest';
import { wireClone } from './msgpack-codec.ts';
import { PEER_PROTOCOL_VERSION, ProtocolVersionError } from './peer-handshake.ts';
import { PeerHello } from './peer-hello.ts';

const B = '10.0.0.2:6701';
const OTHER = PEER_PROTOCOL_VERSION + 1;

describe('PeerHello', () => {
  it('exchanges the protocol version, server first, and proves no one', () => {
    const server = new PeerHello('server', '10.0.0.1');
    const client = new PeerHello('client', B);
    const hello = wireClone(server.challenge());
    expect(hello).toEqual({ auth: 'hello', version: PEER_PROTOCOL_VERSION });
    const answer = wireClone(client.receive(hello));
    expect(client.authenticated).toBe(true);
    expect(server.receive(answer)).toBeNull();
    expect(server.authenticated).toBe(true);
    expect([server.peer, client.peer]).toEqual([null, null]);
  });

  it('makes the client refuse a server of another version without answering, naming it', () => {
    const client = new PeerHello('client', B);
    expect(() => client.receive({ auth: 'hello', version: OTHER })).toThrow(
      new ProtocolVersionError(B, OTHER),
    );
    expect(client.authenticated).toBe(false);
  });

  it('makes the server refuse a client of another version, naming its address', () => {
    const server = new PeerHello('server', '10.0.0.1');
    server.challenge();
    expect(() => server.receive({ auth: 'hello', version: OTHER })).toThrow(/the peer 10\.0\.0\.1 speaks/);
    expect(server.authenticated).toBe(false);
  });

  it.each([
    ['a challenge of the secret handshake', { auth: 'challenge', nonce: Buffer.alloc(32), version: 1 }],
    ['a version that is no integer', { auth: 'hello', version: '1' }],
    ['an extra key', { auth: 'hello', version: PEER_PROTOCOL_VERSION, from: B }],
    ['null', null],
  ])('refuses %s', (_, frame) => {
    expect(() => new PeerHello('client', B).receive(frame)).toThrow(/not a hello frame/);
  });

  it('makes the server refuse a hello before its own, and a second one', () => {
    const server = new PeerHello('server', '10.0.0.1');
    const hello = { auth: 'hello', version: PEER_PROTOCOL_VERSION };
    expect(() => server.receive(hello)).toThrow(/the client's hello before the server's/);
    server.challenge();
    server.receive(hello);
    expect(() => server.receive(hello)).toThrow(/already complete/);
  });
});
