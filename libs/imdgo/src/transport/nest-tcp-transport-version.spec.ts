import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../testing/free-port.ts';
import { listenRaw, RawPeer, type RawServer } from '../../testing/raw-peer.ts';
import { FRAME_HEADER_BYTES, packFrame, unpackBody } from './msgpack-codec.ts';
import { NestTcpTransport, RAFT_PATTERN } from './nest-tcp-transport.ts';
import { HANDSHAKE_BYTES, PEER_PROTOCOL_VERSION, PeerHandshake } from './peer-handshake.ts';

/** A member of another release is refused at the handshake, logged once, and harms nothing. */
const SECRET = 'the secret of this test cluster';
const OTHER = PEER_PROTOCOL_VERSION + 1;
const started: NestTcpTransport[] = [];
const rawServers: RawServer[] = [];
let error: ReturnType<typeof vi.spyOn>;
let warn: ReturnType<typeof vi.spyOn>;

const peerId = async (): Promise<string> => `127.0.0.1:${await freePort()}`;

async function startTransport(id: string, secured = true): Promise<NestTcpTransport> {
  const transport = new NestTcpTransport({
    id,
    clusterSecret: secured ? SECRET : undefined,
    minBackoffMs: 10,
    maxBackoffMs: 20,
  });
  started.push(transport);
  await transport.start();
  return transport;
}

/** Replaces the frame's `version`, or removes it (undefined), as another release would send it. */
function withVersion(frame: object, version: number | undefined): Buffer {
  const { version: _, ...rest } = frame as Record<string, unknown>;
  return packFrame(version === undefined ? rest : { ...rest, version });
}

const refusals = (pattern: RegExp): number =>
  error.mock.calls.filter(([line]: unknown[]) => typeof line === 'string' && pattern.test(line)).length;

beforeEach(() => {
  error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => {});
  warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((transport) => transport.stop()));
  await Promise.all(rawServers.splice(0).map((server) => server.close()));
  vi.restoreAllMocks();
});

describe('NestTcpTransport: the peer protocol version', () => {
  it.each([
    ['another version', OTHER, String(OTHER)],
    ['no version (an earlier release)', undefined, 'none \\(a release before protocol versions\\)'],
  ])('refuses a client of %s, says so once, and goes on serving', async (_, version, named) => {
    const [a, b, c] = await Promise.all([peerId(), peerId(), peerId()]);
    const tb = await startTransport(b);
    const received: string[] = [];
    tb.onMessage((from) => received.push(from));
    tb.onRequest(async (_from, payload) => payload);
    for (let attempt = 0; attempt < 3; attempt++) {
      const peer = await RawPeer.connect(b);
      const client = new PeerHandshake({ role: 'client', secret: SECRET, self: a, peer: b });
      const challenge = unpackBody((await peer.frame(0)).subarray(FRAME_HEADER_BYTES));
      peer.socket.write(withVersion(client.receive(challenge)!, version));
      peer.socket.write(
        packFrame({ pattern: RAFT_PATTERN, data: { from: a, body: 'from the old release' } }),
      );
      expect(await peer.closedWithin(2_000)).toBe(true);
      expect(peer.frames).toHaveLength(1);
    }
    const line = new RegExp(
      `^Refusing connections: the peer ${a} speaks peer protocol ${named}, this member ${PEER_PROTOCOL_VERSION}: ` +
        'every member must run the same imdgo release; upgrade by stopping every member',
    );
    expect(refusals(line)).toBe(1);
    expect(warn).not.toHaveBeenCalled();
    expect(received).toEqual([]);

    const tc = await startTransport(c);
    expect(await tc.request(b, 'still serving', 2_000)).toBe('still serving');
  });

  it('refuses a server of another version before answering its challenge, and says so once', async () => {
    const [a, x] = await Promise.all([peerId(), peerId()]);
    const answers: Buffer[] = [];
    const old = await listenRaw(x, (socket) => {
      socket.on('data', (chunk: Buffer) => answers.push(chunk));
      const nonce = randomBytes(HANDSHAKE_BYTES);
      socket.write(packFrame({ auth: 'challenge', nonce, version: OTHER }));
    });
    rawServers.push(old);
    const ta = await startTransport(a);
    // Each request after the backoff dials again, and is refused again.
    await vi.waitFor(
      async () => {
        await expect(ta.request(x, 'to the old release', 1_000)).rejects.toThrow();
        expect(old.sockets.length).toBeGreaterThanOrEqual(3);
      },
      { timeout: 5_000 },
    );
    expect(answers).toEqual([]);
    const line = new RegExp(
      `^Refusing connections: the peer ${x} speaks peer protocol ${OTHER}, this member`,
    );
    expect(refusals(line)).toBe(1);
  });
});

describe('NestTcpTransport: the peer protocol version without a cluster secret', () => {
  it.each([
    ['another version', packFrame({ auth: 'hello', version: OTHER }), String(OTHER)],
    [
      'no version (an earlier release sends its packets at once)',
      packFrame({ pattern: RAFT_PATTERN, data: { from: '127.0.0.1:1', body: 'from the old release' } }),
      'none \\(a release before protocol versions\\)',
    ],
  ])('refuses a client of %s, says so once, and goes on serving', async (_, first, named) => {
    const [b, c] = await Promise.all([peerId(), peerId()]);
    const tb = await startTransport(b, false);
    const received: string[] = [];
    tb.onMessage((from) => received.push(from));
    tb.onRequest(async (_from, payload) => payload);
    for (let attempt = 0; attempt < 3; attempt++) {
      const peer = await RawPeer.connect(b);
      expect(unpackBody((await peer.frame(0)).subarray(FRAME_HEADER_BYTES))).toEqual({
        auth: 'hello',
        version: PEER_PROTOCOL_VERSION,
      });
      peer.socket.write(first);
      expect(await peer.closedWithin(2_000)).toBe(true);
    }
    const line = new RegExp(
      `^Refusing connections: the peer 127\\.0\\.0\\.1 speaks peer protocol ${named}, this member ${PEER_PROTOCOL_VERSION}: `,
    );
    expect(refusals(line)).toBe(1);
    expect(warn).not.toHaveBeenCalled();
    expect(received).toEqual([]);

    const tc = await startTransport(c, false);
    expect(await tc.request(b, 'still serving', 2_000)).toBe('still serving');
  });

  it('refuses a server of another version before answering its hello', async () => {
    const [a, x] = await Promise.all([peerId(), peerId()]);
    const answers: Buffer[] = [];
    const old = await listenRaw(x, (socket) => {
      socket.on('data', (chunk: Buffer) => answers.push(chunk));
      socket.write(packFrame({ auth: 'hello', version: OTHER }));
    });
    rawServers.push(old);
    const ta = await startTransport(a, false);
    await expect(ta.request(x, 'to the old release', 1_000)).rejects.toThrow();
    expect(answers).toEqual([]);
    const line = new RegExp(
      `^Refusing connections: the peer ${x} speaks peer protocol ${OTHER}, this member`,
    );
    expect(refusals(line)).toBe(1);
  });
});
