import { describe, expect, it } from 'vitest';
import { wireClone } from './msgpack-codec.ts';
import {
  HANDSHAKE_BYTES,
  PEER_PROTOCOL_VERSION,
  PeerHandshake,
  ProtocolVersionError,
  type HandshakeFrame,
} from './peer-handshake.ts';

const SECRET = 'correct horse battery staple';
const [A, B, C] = ['10.0.0.1:6701', '10.0.0.2:6701', '10.0.0.3:6701'];
/** B's server side, and A's client side dialling B, unless told otherwise. */
const serverSide = (secret = SECRET, self = B) => new PeerHandshake({ role: 'server', secret, self });
const clientSide = (secret = SECRET, self = A, peer = B) =>
  new PeerHandshake({ role: 'client', secret, self, peer });

/** Runs a handshake to the end; returns the frames that crossed (as the wire would give them). */
function run(server: PeerHandshake, client: PeerHandshake): HandshakeFrame[] {
  const challenge = wireClone(server.challenge());
  const response = wireClone(client.receive(challenge)!);
  const accept = wireClone(server.receive(response)!);
  expect(client.receive(accept)).toBeNull();
  return [challenge, response, accept];
}

const thrown = (call: () => unknown): unknown => {
  try {
    call();
  } catch (error) {
    return error;
  }
  return expect.fail('expected it to throw');
};

/** `frame` with `version` replaced, or removed (undefined), as another release would send it. */
const withVersion = (frame: HandshakeFrame, version: number | undefined): Record<string, unknown> => {
  const { version: _, ...rest } = wireClone(frame) as Record<string, unknown>;
  return version === undefined ? rest : { ...rest, version };
};

describe('PeerHandshake', () => {
  it('authenticates both sides holding the secret, which never crosses', () => {
    const server = serverSide();
    const client = clientSide();
    expect(server.authenticated || client.authenticated).toBe(false);
    const frames = run(server, client);
    expect(server.authenticated && client.authenticated).toBe(true);
    expect(frames.map((frame) => frame.auth)).toEqual(['challenge', 'response', 'accept']);
    expect(Buffer.from(JSON.stringify(frames)).includes(SECRET)).toBe(false);
  });

  it('lets the server refuse a client with another secret', () => {
    const server = serverSide();
    const client = clientSide('another secret, also long');
    const response = client.receive(server.challenge())!;
    expect(() => server.receive(response)).toThrow(/wrong client proof/);
    expect(server.authenticated).toBe(false);
  });

  it('lets the client refuse a server that cannot prove the secret', () => {
    const client = clientSide();
    const impostor = serverSide('an impostor without it');
    client.receive(impostor.challenge());
    const forged = { auth: 'accept', proof: Buffer.alloc(HANDSHAKE_BYTES) };
    expect(() => client.receive(forged)).toThrow(/wrong server proof/);
    expect(client.authenticated).toBe(false);
  });

  it('refuses a response replayed on another connection, and a reflected server proof', () => {
    const [, recorded, accept] = run(serverSide(), clientSide());
    const server = serverSide();
    server.challenge();
    expect(() => server.receive(recorded)).toThrow(/wrong client proof/);

    const other = serverSide();
    other.challenge();
    const { proof } = accept as Extract<HandshakeFrame, { auth: 'accept' }>;
    const reflected = { auth: 'response', nonce: Buffer.alloc(HANDSHAKE_BYTES), from: A, to: B, proof };
    expect(() => other.receive(reflected)).toThrow(/wrong client proof/);
  });

  it('tells each side who the other is, once authenticated', () => {
    const [server, client] = [serverSide(), clientSide()];
    expect(server.peer).toBeNull();
    run(server, client);
    expect([server.peer, client.peer]).toEqual([A, B]);
  });

  it('binds both proofs to the two member ids', () => {
    // The relay of issue 12: B dials X, whose address an attacker holds; the attacker hands B's own
    // server challenge to B's outgoing connection and B's answer back to B's server.
    const bServer = serverSide(SECRET, B);
    const bDiallingX = clientSide(SECRET, B, C);
    const relayed = wireClone(bDiallingX.receive(wireClone(bServer.challenge()))!);
    expect(() => bServer.receive(relayed)).toThrow(/the client dialled 10\.0\.0\.3:6701, not this member/);
    expect(bServer.authenticated).toBe(false);

    // A response claiming another client, or another server, than the one it was made for.
    for (const forge of [{ from: C }, { to: C }]) {
      const server = serverSide(SECRET, forge.to ?? B);
      const response = clientSide().receive(wireClone(server.challenge()))!;
      expect(() => server.receive({ ...wireClone(response), ...forge })).toThrow(/wrong client proof/);
    }
  });

  it('makes the server refuse a response whose client id is no member id', () => {
    const server = serverSide();
    const response = wireClone(clientSide().receive(wireClone(server.challenge()))!);
    expect(() => server.receive({ ...response, from: 'nobody' })).toThrow(/not a handshake frame/);
  });

  it.each([
    ['a Nest packet', { pattern: 'imdgo.raft', data: {} }],
    ['a short nonce', { auth: 'challenge', nonce: Buffer.alloc(8) }],
    ['an extra key', { auth: 'challenge', nonce: Buffer.alloc(HANDSHAKE_BYTES), x: 1 }],
    ['a string nonce', { auth: 'challenge', nonce: 'x'.repeat(HANDSHAKE_BYTES) }],
    ['the server side of the exchange', { auth: 'accept', proof: Buffer.alloc(HANDSHAKE_BYTES) }],
    ['null', null],
  ])('makes the client refuse %s as its first frame', (_, frame) => {
    expect(() => clientSide().receive(frame)).toThrow();
  });

  it('makes the server refuse anything before its challenge, and a second response', () => {
    const client = clientSide();
    const server = serverSide();
    const early = serverSide();
    const response = client.receive(server.challenge())!;
    expect(() => early.receive(response)).toThrow(/unexpected handshake frame "response"/);
    server.receive(response);
    expect(() => server.receive(response)).toThrow(/already complete/);
  });

  it('carries the protocol version in the challenge and the response', () => {
    const [challenge, response] = run(serverSide(), clientSide());
    expect([challenge, response].map((frame) => (frame as { version?: number }).version)).toEqual([
      PEER_PROTOCOL_VERSION,
      PEER_PROTOCOL_VERSION,
    ]);
  });

  it.each([
    ['another version', PEER_PROTOCOL_VERSION + 1, PEER_PROTOCOL_VERSION + 1],
    ['no version (an earlier release)', undefined, null],
  ])('makes the client refuse a server of %s before it answers', (_, version, theirs) => {
    const client = clientSide();
    const challenge = withVersion(serverSide().challenge(), version);
    const error = thrown(() => client.receive(challenge));
    expect(error).toBeInstanceOf(ProtocolVersionError);
    expect(error).toMatchObject({ peer: B, theirs });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^the peer ${B} speaks peer protocol ${theirs ?? 'none'}.*, this member ${PEER_PROTOCOL_VERSION}:`,
      ),
    );
    expect(client.authenticated).toBe(false);
  });

  it.each([
    ['another version', PEER_PROTOCOL_VERSION + 1, PEER_PROTOCOL_VERSION + 1],
    ['no version (an earlier release)', undefined, null],
  ])('makes the server refuse a client of %s that holds the secret', (_, version, theirs) => {
    const server = serverSide();
    const response = withVersion(clientSide().receive(wireClone(server.challenge()))!, version);
    const error = thrown(() => server.receive(response));
    expect(error).toBeInstanceOf(ProtocolVersionError);
    expect(error).toMatchObject({ peer: A, theirs });
    expect(server.authenticated).toBe(false);
    expect(server.peer).toBeNull();

    // Without the secret it is a stranger, refused for its proof: its claimed id is not named.
    const other = serverSide();
    const stranger = clientSide('another secret, also long').receive(wireClone(other.challenge()))!;
    expect(() => other.receive(withVersion(stranger, version))).toThrow(/wrong client proof/);
  });

  it('refuses a version that is not an integer', () => {
    const challenge = { ...wireClone(serverSide().challenge()), version: '1' };
    expect(() => clientSide().receive(challenge)).toThrow(/not a handshake frame/);
  });
});
