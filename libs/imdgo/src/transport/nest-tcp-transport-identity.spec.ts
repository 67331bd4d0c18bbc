import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../testing/free-port.ts';
import { listenRaw, packetFrame, RawPeer, type RawServer } from '../../testing/raw-peer.ts';
import { createTestPki } from '../../testing/test-certificates.ts';
import { NestTcpTransport, RAFT_PATTERN, type NestTcpTransportOptions } from './nest-tcp-transport.ts';

/** Who an accepted connection speaks for: the handshake's proof, the certificate, one connection each. */
const SECRET = 'the secret of this test cluster';
const pki = createTestPki();
const tls = { key: pki.node.key, cert: pki.node.cert, ca: pki.ca };
const started: NestTcpTransport[] = [];
const rawServers: RawServer[] = [];
let warn: ReturnType<typeof vi.spyOn>;

const peerId = async (): Promise<string> => `127.0.0.1:${await freePort()}`;
const raftFrame = (from: string, body: unknown): Buffer =>
  packetFrame({ pattern: RAFT_PATTERN, data: [from, body] });

async function startTransport(id: string, options: Omit<NestTcpTransportOptions, 'id'> = {}) {
  const transport = new NestTcpTransport({ id, ...options });
  started.push(transport);
  await transport.start();
  const received: { from: string; message: unknown }[] = [];
  transport.onMessage((from, message) => received.push({ from, message }));
  return { transport, received };
}

const warned = (pattern: RegExp) =>
  vi.waitFor(() => expect(warn).toHaveBeenCalledWith(expect.stringMatching(pattern)));

beforeEach(() => {
  warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  vi.spyOn(Logger.prototype, 'error').mockImplementation(() => {});
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((transport) => transport.stop()));
  await Promise.all(rawServers.splice(0).map((server) => server.close()));
  vi.restoreAllMocks();
});

describe('NestTcpTransport: who a connection speaks for', () => {
  it("refuses the relay of a member's own challenge through its connection to a taken address", async () => {
    // Issue 12, bug 1: an attacker holds the address of a down member X. Member B dials X, as Raft does;
    // the attacker opens its own connection to B, hands B's challenge to B's outgoing connection, and
    // B's answer back to B.
    const [b, x] = await Promise.all([peerId(), peerId()]);
    const { transport: tb, received } = await startTransport(b, { clusterSecret: SECRET });
    let bDiallingX!: RawPeer;
    const attacker = await listenRaw(x, (socket) => (bDiallingX = new RawPeer(socket)));
    rawServers.push(attacker);
    tb.send(x, 'appends for X');
    await vi.waitFor(() => expect(attacker.sockets).toHaveLength(1));
    const toB = await RawPeer.connect(b);
    bDiallingX.socket.write(await toB.frame(0));
    toB.socket.write(await bDiallingX.frame(0));
    toB.socket.write(raftFrame(x, 'forged, as X'));
    const closed = await toB.closedWithin(2_000);
    expect({ closed, received }).toEqual({ closed: true, received: [] });
    await warned(new RegExp(`handshake failed: the client dialled ${x}, not this member \\(${b}\\)`));
  });

  it('pins a connection to the member its handshake proved', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const { transport: ta } = await startTransport(a, { clusterSecret: SECRET });
    const { received } = await startTransport(b, { clusterSecret: SECRET });
    ta.send(b, 'hello');
    await vi.waitFor(() => expect(received).toEqual([{ from: a, message: 'hello' }]));
  });

  it('refuses a client whose certificate does not name the member it speaks as', async () => {
    // Issue 12, bug 2: a valid certificate of the cluster CA, for another name.
    const [a, b, c] = await Promise.all([peerId(), peerId(), peerId()]);
    const misnamed = { ...tls, key: pki.wrongName.key, cert: pki.wrongName.cert };
    const { received } = await startTransport(b, { tls });
    const { transport: ta } = await startTransport(a, { tls: misnamed });
    ta.send(b, 'as 127.0.0.1, with a certificate for elsewhere.invalid');
    await warned(
      new RegExp(
        `^Dropping connection with 127\\.0\\.0\\.1:\\d+: the client certificate does not name ${a}: `,
      ),
    );
    expect(received).toEqual([]);

    // Only the chain counts when hostname checks are off.
    const { received: lenient } = await startTransport(c, { tls: { ...tls, verifyHostname: false } });
    ta.send(c, 'chain only');
    await vi.waitFor(() => expect(lenient).toEqual([{ from: a, message: 'chain only' }]));
  });

  it('closes the older connection of a member when a newer one speaks for it', async () => {
    const b = await peerId();
    const { received } = await startTransport(b);
    const member = '127.0.0.1:1';
    const older = await RawPeer.connect(b);
    await older.hello();
    older.socket.write(raftFrame(member, 'first'));
    await vi.waitFor(() => expect(received).toHaveLength(1));
    const newer = await RawPeer.connect(b);
    await newer.hello();
    newer.socket.write(raftFrame(member, 'second'));
    await vi.waitFor(() => expect(received).toHaveLength(2));
    expect(await older.closedWithin(2_000)).toBe(true);
    expect(newer.socket.closed).toBe(false);
  });

  it('handles nothing after a frame that dropped the connection, even in the same chunk', async () => {
    // Issue 12, bug 5.
    const b = await peerId();
    const { received } = await startTransport(b);
    const connection = await RawPeer.connect(b);
    await connection.hello();
    const malformed = packetFrame({ pattern: RAFT_PATTERN, data: ['no sender'] });
    connection.socket.write(Buffer.concat([malformed, raftFrame('127.0.0.1:1', 'after the bad frame')]));
    expect(await connection.closedWithin(2_000)).toBe(true);
    await warned(/malformed envelope/);
    expect(received).toEqual([]);
  });
});
