import { describe, expect, it } from 'vitest';
import { wireClone } from './msgpack-codec.ts';
import { HANDSHAKE_BYTES, PeerHandshake, type HandshakeFrame } from './peer-handshake.ts';

const SECRET = 'correct horse battery staple';

/** Runs a handshake to the end; returns the frames that crossed (as the wire would give them). */
function run(server: PeerHandshake, client: PeerHandshake): HandshakeFrame[] {
  const challenge = wireClone(server.challenge());
  const response = wireClone(client.receive(challenge)!);
  const accept = wireClone(server.receive(response)!);
  expect(client.receive(accept)).toBeNull();
  return [challenge, response, accept];
}

describe('PeerHandshake', () => {
  it('authenticates both sides holding the secret, which never crosses', () => {
    const server = new PeerHandshake('server', SECRET);
    const client = new PeerHandshake('client', SECRET);
    expect(server.authenticated || client.authenticated).toBe(false);
    const frames = run(server, client);
    expect(server.authenticated && client.authenticated).toBe(true);
    expect(frames.map((frame) => frame.auth)).toEqual(['challenge', 'response', 'accept']);
    expect(Buffer.from(JSON.stringify(frames)).includes(SECRET)).toBe(false);
  });

  it('lets the server refuse a client with another secret', () => {
    const server = new PeerHandshake('server', SECRET);
    const client = new PeerHandshake('client', 'another secret, also long');
    const response = client.receive(server.challenge())!;
    expect(() => server.receive(response)).toThrow(/wrong client proof/);
    expect(server.authenticated).toBe(false);
  });

  it('lets the client refuse a server that cannot prove the secret', () => {
    const client = new PeerHandshake('client', SECRET);
    const impostor = new PeerHandshake('server', 'an impostor without it');
    client.receive(impostor.challenge());
    const forged = { auth: 'accept', proof: Buffer.alloc(HANDSHAKE_BYTES) };
    expect(() => client.receive(forged)).toThrow(/wrong server proof/);
    expect(client.authenticated).toBe(false);
  });

  it('refuses a response replayed on another connection, and a reflected server proof', () => {
    const [, recorded, accept] = run(
      new PeerHandshake('server', SECRET),
      new PeerHandshake('client', SECRET),
    );
    const server = new PeerHandshake('server', SECRET);
    server.challenge();
    expect(() => server.receive(recorded)).toThrow(/wrong client proof/);

    const other = new PeerHandshake('server', SECRET);
    other.challenge();
    const { proof } = accept as Extract<HandshakeFrame, { auth: 'accept' }>;
    const reflected = { auth: 'response', nonce: Buffer.alloc(HANDSHAKE_BYTES), proof };
    expect(() => other.receive(reflected)).toThrow(/wrong client proof/);
  });

  it.each([
    ['a Nest packet', { pattern: 'imdgo.raft', data: {} }],
    ['a short nonce', { auth: 'challenge', nonce: Buffer.alloc(8) }],
    ['an extra key', { auth: 'challenge', nonce: Buffer.alloc(HANDSHAKE_BYTES), x: 1 }],
    ['a string nonce', { auth: 'challenge', nonce: 'x'.repeat(HANDSHAKE_BYTES) }],
    ['the server side of the exchange', { auth: 'accept', proof: Buffer.alloc(HANDSHAKE_BYTES) }],
    ['null', null],
  ])('makes the client refuse %s as its first frame', (_, frame) => {
    expect(() => new PeerHandshake('client', SECRET).receive(frame)).toThrow();
  });

  it('makes the server refuse anything before its challenge, and a second response', () => {
    const client = new PeerHandshake('client', SECRET);
    const server = new PeerHandshake('server', SECRET);
    const early = new PeerHandshake('server', SECRET);
    const response = client.receive(server.challenge())!;
    expect(() => early.receive(response)).toThrow(/unexpected handshake frame "response"/);
    server.receive(response);
    expect(() => server.receive(response)).toThrow(/already complete/);
  });
});
