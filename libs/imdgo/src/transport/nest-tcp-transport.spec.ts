import { Logger } from '@nestjs/common';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../testing/free-port.ts';
import { packetFrame, RawPeer } from '../../testing/raw-peer.ts';
import { createTestPki } from '../../testing/test-certificates.ts';
import { NestTcpTransport, RAFT_PATTERN, type NestTcpTransportOptions } from './nest-tcp-transport.ts';
import { PeerTransportError } from './peer-transport-error.ts';

const started: NestTcpTransport[] = [];

async function peerId(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

async function startTransport(
  id: string,
  options: Omit<NestTcpTransportOptions, 'id'> = {},
): Promise<NestTcpTransport> {
  const transport = new NestTcpTransport({ id, ...options });
  started.push(transport);
  await transport.start();
  return transport;
}

/** Resolves with the first message `transport` receives. */
function nextMessage(transport: NestTcpTransport): Promise<{ from: string; message: unknown }> {
  return new Promise((resolve) => transport.onMessage((from, message) => resolve({ from, message })));
}

async function rejection(promise: Promise<unknown>): Promise<PeerTransportError> {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PeerTransportError);
  return error as PeerTransportError;
}

const echo = async (_: string, payload: unknown): Promise<unknown> => payload;
const blob = (i: number): Buffer => Buffer.alloc(200 * 1024, i % 256);
/** Handles open now beyond those in `before` (timers of earlier tests may have ended meanwhile). */
function handlesOpenedSince(before: string[]): string[] {
  const remaining = [...before];
  return process.getActiveResourcesInfo().filter((type) => {
    const index = remaining.indexOf(type);
    if (index === -1) {
      return true;
    }
    remaining.splice(index, 1);
    return false;
  });
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((transport) => transport.stop()));
});

describe('NestTcpTransport', () => {
  it('delivers one-way messages with the sender id', async () => {
    const [a, b, c] = await Promise.all([peerId(), peerId(), peerId()]);
    const [ta, tb, tc] = await Promise.all([startTransport(a), startTransport(b), startTransport(c)]);
    const atB = nextMessage(tb);
    ta.send(b, { type: 'vote', term: 3 });
    expect(await atB).toStrictEqual({ from: a, message: { type: 'vote', term: 3 } });

    const received: string[] = [];
    ta.onMessage((from, message) => received.push(`${from}:${String(message)}`));
    tb.send(a, 'x');
    tc.send(a, 'y');
    await expect.poll(() => received.toSorted()).toEqual([`${b}:x`, `${c}:y`].toSorted());
  });

  it('keeps the order of one-way messages to a peer', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    const received: unknown[] = [];
    tb.onMessage((_, message) => received.push(message));
    for (let i = 0; i < 500; i++) {
      ta.send(b, i);
    }
    await expect.poll(() => received.length).toBe(500);
    expect(received).toEqual([...Array(500).keys()]);
  });

  it('drops a one-way message over the frame limit with a log line, and sends the next', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([
      startTransport(a, { maxFrameBytes: 1024 }),
      startTransport(b, { maxFrameBytes: 1024 }),
    ]);
    const received: unknown[] = [];
    tb.onMessage((_, message) => received.push(message));
    ta.send(b, 'first');
    await expect.poll(() => received).toEqual(['first']);
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      ta.send(b, 'x'.repeat(2048));
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(`Dropping message to ${b}: frame of .* exceeds`),
      );
    } finally {
      warn.mockRestore();
    }
    ta.send(b, 'next');
    await expect.poll(() => received).toEqual(['first', 'next']);
  });

  it('round-trips requests preserving types', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    tb.onRequest(async (from, payload) => ({ from, payload }));
    const payload = {
      n: 7,
      f: 0.25,
      at: new Date('2030-01-01T00:00:00.001Z'),
      blob: Buffer.from([0, 255]),
      bytes: new Uint8Array([9]),
      big: 123n,
      map: new Map([['k', { deep: [1, { deeper: null }] }]]),
      missing: undefined,
    };
    const reply = await ta.request<{ from: string; payload: typeof payload }>(b, payload, 2_000);
    expect(reply).toStrictEqual({ from: a, payload });
    expect(reply.payload.blob).toBeInstanceOf(Buffer);
    expect(typeof reply.payload.n).toBe('number');

    tb.onRequest(async () => undefined);
    expect(await ta.request(b, null, 2_000)).toBeUndefined();
    tb.onRequest(async () => null);
    expect(await ta.request(b, 'x', 2_000)).toBeNull();
  });

  it('rejects with the remote message when the handler fails', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    const error = await rejection(ta.request(b, 1, 2_000));
    expect(error.code).toBe('remote');
    expect(error.message).toBe(`${b} has no request handler`);

    tb.onRequest(async () => {
      throw new Error('not the leader');
    });
    expect(await rejection(ta.request(b, 1, 2_000))).toMatchObject({
      code: 'remote',
      message: 'not the leader',
    });

    tb.onRequest(() => Promise.reject('plain string'));
    expect(await rejection(ta.request(b, 1, 2_000))).toMatchObject({
      code: 'remote',
      message: 'plain string',
    });
  });

  it('rejects a request that is not answered in time', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    tb.onRequest(() => sleep(1_000));
    const begin = Date.now();
    const error = await rejection(ta.request(b, 1, 100));
    expect(error.code).toBe('timeout');
    expect(Date.now() - begin).toBeLessThan(900);
  });

  it('bounds requests in flight per peer', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a, { maxInFlightPerPeer: 2 }), startTransport(b)]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    tb.onRequest(async (_, payload) => {
      await gate;
      return payload;
    });
    const first = ta.request(b, 1, 2_000);
    const second = ta.request(b, 2, 2_000);
    expect(await rejection(ta.request(b, 3, 2_000))).toMatchObject({ code: 'overloaded' });
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(await ta.request(b, 4, 2_000)).toBe(4);
  });

  it('fails fast while a peer is down and reconnects once it is up', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const ta = await startTransport(a, { minBackoffMs: 20, maxBackoffMs: 100 });
    expect(() => ta.send(b, 'lost')).not.toThrow();
    const begin = Date.now();
    const error = await rejection(ta.request(b, 1, 500));
    expect(error.code).toBe('unavailable');
    expect(Date.now() - begin).toBeLessThan(500);
    expect(await rejection(ta.request(b, 1, 500))).toMatchObject({ code: 'unavailable' });

    const tb = await startTransport(b);
    const received: unknown[] = [];
    tb.onMessage((_, message) => received.push(message));
    await expect
      .poll(() => (ta.send(b, 'hello'), received.length), { interval: 20, timeout: 3_000 })
      .toBeGreaterThan(0);
    expect(received).not.toContain('lost');
    tb.onRequest(async (_, payload) => payload);
    expect(await ta.request(b, 'back', 1_000)).toBe('back');
  });

  it('warns once, without a stack, while a peer resets every connection', async () => {
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => {});
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    let accepted = 0;
    const resetting = createServer((socket) => {
      accepted++;
      socket.resetAndDestroy();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => resetting.listen(port, '127.0.0.1', resolve));
    try {
      const b = `127.0.0.1:${port}`;
      const ta = await startTransport(await peerId(), { minBackoffMs: 5, maxBackoffMs: 20 });
      await expect
        .poll(async () => (await ta.request(b, 1, 200).catch(() => null), accepted), { timeout: 5_000 })
        .toBeGreaterThanOrEqual(4);
      const lines = warn.mock.calls.map(([line]) => String(line)).filter((line) => line.includes(b));
      expect(lines).toEqual([
        expect.stringMatching(/^connection to .* (lost|failed): .*ECONNRESET.* \(retrying with backoff\)$/),
      ]);
      expect(error).not.toHaveBeenCalled();
    } finally {
      resetting.close();
      error.mockRestore();
      warn.mockRestore();
    }
  });

  it('warns once when a peer stops, not for each refused attempt after it', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      const [a, b] = await Promise.all([peerId(), peerId()]);
      const ta = await startTransport(a, { minBackoffMs: 5, maxBackoffMs: 20 });
      const tb = await startTransport(b);
      tb.onRequest(echo);
      expect(await ta.request(b, 1, 1_000)).toBe(1);
      await tb.stop();
      let refused = 0;
      await expect
        .poll(
          async () => {
            const code = await ta.request(b, 1, 200).then(
              () => null,
              (failure: PeerTransportError) => failure.code,
            );
            if (code === 'unavailable') refused++;
            return refused;
          },
          { timeout: 5_000 },
        )
        .toBeGreaterThanOrEqual(3);
      const lines = warn.mock.calls.map(([line]) => String(line)).filter((line) => line.includes(b));
      expect(lines).toEqual([expect.stringMatching(/^connection to .* lost \(retrying with backoff\)$/)]);
    } finally {
      warn.mockRestore();
    }
  });

  it('rejects requests in flight when the peer goes away, then reaches its restart', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const ta = await startTransport(a, { minBackoffMs: 20, maxBackoffMs: 100 });
    const tb = await startTransport(b);
    tb.onRequest(() => sleep(5_000));
    const pending = ta.request(b, 1, 4_000);
    await sleep(50);
    await tb.stop();
    expect(await rejection(pending)).toMatchObject({ code: 'disconnected' });

    const restarted = await startTransport(b);
    restarted.onRequest(async () => 'again');
    await expect
      .poll(() => ta.request(b, 1, 500).catch((error: PeerTransportError) => error.code), { timeout: 3_000 })
      .toBe('again');
  });

  it('completes 200 concurrent 200 KB requests each way without deadlock', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    ta.onRequest(echo);
    tb.onRequest(echo);
    const calls = [...Array(200).keys()].flatMap((i) => [
      ta.request<Buffer>(b, blob(i), 30_000),
      tb.request<Buffer>(a, blob(i + 1), 30_000),
    ]);
    const replies = await Promise.all(calls);
    replies.forEach((reply, k) => expect(reply.equals(blob(Math.floor(k / 2) + (k % 2)))).toBe(true));
  });

  it('leaves no handle open and its port free after stop', async () => {
    const before = process.getActiveResourcesInfo();
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    tb.onRequest(async () => 'ok');
    ta.onRequest(async () => 'ok');
    expect(await ta.request(b, 1, 2_000)).toBe('ok');
    expect(await tb.request(a, 1, 2_000)).toBe('ok');
    await Promise.all([ta.stop(), tb.stop()]);
    expect(handlesOpenedSince(before)).toEqual([]);
    expect(await rejection(ta.request(b, 1, 100))).toMatchObject({ code: 'stopped' });
    expect(() => ta.send(b, 1)).not.toThrow();
    for (const id of [a, b]) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(id.split(':')[1]), '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails to start on a port in use', async () => {
    const a = await peerId();
    await startTransport(a);
    await expect(new NestTcpTransport({ id: a }).start()).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('NestTcpTransport security', () => {
  const pki = createTestPki();
  const SECRET = 'the secret of this test cluster';
  const tls = { key: pki.node.key, cert: pki.node.cert, ca: pki.ca };
  let warn: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  });

  afterEach(() => vi.restoreAllMocks());

  const warned = (pattern: RegExp) =>
    vi.waitFor(() => expect(warn).toHaveBeenCalledWith(expect.stringMatching(pattern)));

  it('carries messages and requests over mutual TLS with a cluster secret', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const secure = { tls, clusterSecret: SECRET };
    const [ta, tb] = await Promise.all([startTransport(a, secure), startTransport(b, secure)]);
    tb.onRequest(echo);
    const atB = nextMessage(tb);
    ta.send(b, { type: 'vote' });
    expect(await atB).toStrictEqual({ from: a, message: { type: 'vote' } });
    expect(await ta.request(b, blob(1), 2_000)).toEqual(blob(1));
    expect(warn).not.toHaveBeenCalled();
  });

  it.each([
    [
      'a certificate of another CA',
      { key: pki.rogue.key, cert: pki.rogue.cert, ca: pki.ca },
      /^Refusing TLS connection from a peer: client certificate refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/,
    ],
    [
      'no certificate',
      { ca: pki.ca },
      /^Refusing TLS connection from 127\.0\.0\.1:\d+: .*peer did not return a certificate/,
    ],
  ])('refuses a client presenting %s', async (_, clientTls, logged) => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const tb = await startTransport(b, { tls });
    const requests: unknown[] = [];
    tb.onRequest(async (_from, payload) => requests.push(payload));
    const ta = await startTransport(a, { tls: clientTls as typeof tls });
    expect((await rejection(ta.request(b, 1, 2_000))).code).toMatch(/disconnected|unavailable/);
    await warned(logged);
    expect(requests).toEqual([]);
  });

  it('refuses a plain TCP client on a TLS port', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    // The plain client waits for the server's hello, the TLS server for the client's: the deadline ends it.
    await startTransport(b, { tls, handshakeTimeoutMs: 500 });
    const ta = await startTransport(a);
    expect((await rejection(ta.request(b, 1, 2_000))).code).toMatch(/disconnected|unavailable|timeout/);
    await warned(/^Dropping connection with 127\.0\.0\.1:\d+: not authenticated within 500 ms$/);
  });

  it('checks that the server certificate names the member, unless verifyHostname is off', async () => {
    const [a, b, c] = await Promise.all([peerId(), peerId(), peerId()]);
    const misnamed = { ...tls, key: pki.wrongName.key, cert: pki.wrongName.cert };
    const tb = await startTransport(b, { tls: misnamed });
    tb.onRequest(echo);
    const strict = await startTransport(a, { tls });
    expect((await rejection(strict.request(b, 1, 2_000))).message).toMatch(
      /IP: 127\.0\.0\.1 is not in the cert's list/,
    );
    const lenient = await startTransport(c, { tls: { ...tls, verifyHostname: false } });
    expect(await lenient.request(b, 'chain only', 2_000)).toBe('chain only');
  });

  it('refuses a peer with another cluster secret before its request is handled', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const tb = await startTransport(b, { clusterSecret: SECRET });
    const requests: unknown[] = [];
    tb.onRequest(async (_from, payload) => requests.push(payload));
    const ta = await startTransport(a, { clusterSecret: 'some other secret, as long' });
    expect((await rejection(ta.request(b, 1, 2_000))).code).toBe('disconnected');
    await warned(/handshake failed: wrong client proof/);
    expect(requests).toEqual([]);
  });

  it.each([
    ['a malformed envelope', [[[]]], /malformed envelope/],
    ['an envelope as an object, not positional', [{ from: '127.0.0.1:1', body: [] }], /malformed envelope/],
    ['a sender that is no peer id', [['nobody', []]], /malformed envelope/],
    [
      'two senders',
      [
        ['127.0.0.1:1', []],
        ['127.0.0.1:2', []],
      ],
      /envelope from 127\.0\.0\.1:2 on the connection of 127\.0\.0\.1:1/,
    ],
  ])('drops a connection that sends %s', async (_, envelopes, reason) => {
    const b = await peerId();
    const tb = await startTransport(b);
    const received: unknown[] = [];
    tb.onMessage((from) => received.push(from));
    const peer = await RawPeer.connect(b);
    await peer.hello();
    const localPort = peer.socket.localPort;
    for (const data of envelopes) peer.socket.write(packetFrame({ pattern: RAFT_PATTERN, data }));
    await peer.closed;
    await warned(new RegExp(`^Dropping connection with 127\\.0\\.0\\.1:${localPort}: ${reason.source}`));
    expect(received).toEqual(envelopes.length === 2 ? ['127.0.0.1:1'] : []);
  });

  it('carries the entries of append messages intact, and drops a connection whose entries do not unpack', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    const append = {
      type: 'append',
      prevIndex: 4,
      // A Buffer, as unpacked entries' data are (the apply decodes them without a view of its own).
      entries: [{ index: 5, term: 1, kind: 'command', data: Buffer.of(1, 2) }],
    };
    const atB = nextMessage(tb);
    ta.send(b, [append]);
    expect(await atB).toStrictEqual({ from: a, message: [append] });

    const peer = await RawPeer.connect(b);
    await peer.hello();
    // An append (type code 0) of group 0 whose entry block is three bytes of nothing.
    const broken = [0, undefined, '127.0.0.1:1', b, 1, 4, 0, Uint8Array.of(1, 2, 3), 0];
    peer.socket.write(packetFrame({ pattern: RAFT_PATTERN, data: ['127.0.0.1:1', [broken]] }));
    await peer.closed;
    await warned(/message handler failed on a message from 127\.0\.0\.1:1: malformed entry block$/);
  });

  it('drops the connection of a message its handler refuses', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()]);
    const [ta, tb] = await Promise.all([startTransport(a), startTransport(b)]);
    tb.onMessage(() => {
      throw new Error('malformed Raft message');
    });
    ta.send(b, 'garbage');
    await warned(
      /^Dropping connection with 127\.0\.0\.1:\d+: message handler failed on a message from .*: malformed Raft message$/,
    );
  });
});
