import { Logger } from '@nestjs/common';
import { ClientTCP, ServerTCP } from '@nestjs/microservices';
import { connect, Socket, type Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../testing/free-port.ts';
import { FRAME_HEADER_BYTES, packFrame } from './msgpack-codec.ts';
import { packetToWire } from './packet-layout.ts';
import {
  isNestPacket,
  MsgpackSocket,
  msgpackSocketClass,
  type MsgpackSocketOptions,
} from './msgpack-socket.ts';

/** A MsgpackSocket over an unconnected socket, fed by emitting 'data' on it. */
function parser(options: MsgpackSocketOptions = {}) {
  const socket = new Socket();
  const framing = new MsgpackSocket(socket, options);
  const messages: unknown[] = [];
  socket.on('message', (message) => messages.push(message));
  return { framing, socket, messages, feed: (chunk: Buffer) => socket.emit('data', chunk) };
}

/** A Nest packet framed as this release sends it. */
const packPacket = (packet: Record<string, unknown>): Buffer => packFrame(packetToWire(packet));

const header = (length: number): Buffer => {
  const buffer = Buffer.alloc(FRAME_HEADER_BYTES);
  buffer.writeUInt32BE(length);
  return buffer;
};

describe('MsgpackSocket parsing', () => {
  const packets = [
    { pattern: 'p', data: { n: 1 }, id: 'a' },
    { id: 'b', response: Buffer.alloc(70_000, 1), isDisposed: true },
    { pattern: { cmd: 'x' }, data: [1, 2] },
  ];
  const stream = Buffer.concat(packets.map((packet) => packPacket(packet)));

  it('reassembles frames split at every byte', () => {
    const { feed, messages } = parser();
    for (let i = 0; i < stream.length; i++) {
      feed(stream.subarray(i, i + 1));
    }
    expect(messages).toStrictEqual(packets);
  });

  it('reads several frames from one chunk and frames spanning chunks', () => {
    const { feed, messages } = parser();
    feed(stream.subarray(0, 100));
    feed(stream.subarray(100, 50_000));
    feed(stream.subarray(50_000));
    expect(messages).toStrictEqual(packets);
  });

  it('drops the connection on a length over the limit before any body arrives', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const { feed, messages, socket } = parser({ maxFrameBytes: 1024 });
    feed(header(1025));
    expect(socket.destroyed).toBe(true);
    expect(messages).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('exceeds the 1024-byte limit'));
    warn.mockRestore();
  });

  it.each([
    [['p'], { pattern: 'q', data: 1 }, 'unexpected packet: pattern "q"'],
    [['p'], { id: 'x', response: 1 }, 'unexpected packet: a response'],
    ['responses' as const, { pattern: 'p', data: 1 }, 'unexpected packet: pattern "p"'],
  ])('expecting %j, drops the connection on %j', (expects, packet, reason) => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const { feed, messages, socket } = parser({ expects });
    feed(packPacket(packet));
    expect(socket.destroyed).toBe(true);
    expect(messages).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(reason));
    warn.mockRestore();
  });

  it('passes the packets it expects', () => {
    const server = parser({ expects: ['p'] });
    server.feed(packPacket({ pattern: 'p', data: 1, id: 'a' }));
    const client = parser({ expects: 'responses' });
    client.feed(packPacket({ id: 'a', response: 2 }));
    expect([...server.messages, ...client.messages]).toEqual([
      { pattern: 'p', data: 1, id: 'a' },
      { id: 'a', response: 2 },
    ]);
  });

  it('hands events of its pattern to their handler at once, and the rest to Nest', () => {
    const handled: unknown[] = [];
    const server = parser({
      expects: ['e', 'r'],
      events: { pattern: 'e', handle: (_, data) => handled.push(data) },
    });
    server.feed(
      Buffer.concat([
        packPacket({ pattern: 'e', data: 1 }),
        packPacket({ pattern: 'e', data: 2, id: 'a' }),
        packPacket({ pattern: 'r', data: 3 }),
      ]),
    );
    expect(handled).toEqual([1]);
    expect(server.messages).toEqual([
      { pattern: 'e', data: 2, id: 'a' },
      { pattern: 'r', data: 3 },
    ]);
  });

  it('drops the connection, and reads nothing after, when the event handler throws', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const handled: unknown[] = [];
    const server = parser({
      events: {
        pattern: 'e',
        handle: (_, data) => {
          handled.push(data);
          if (data === 'bad') throw new Error('refused');
        },
      },
    });
    server.feed(Buffer.concat(['ok', 'bad', 'after'].map((data) => packPacket({ pattern: 'e', data }))));
    expect(handled).toEqual(['ok', 'bad']);
    expect(server.socket.destroyed).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('refused'));
    warn.mockRestore();
  });

  it('holds what it sends until the handshake is done, up to one frame limit', () => {
    const socket = new Socket();
    const write = vi.spyOn(socket, 'write');
    const client = new MsgpackSocket(socket, {
      maxFrameBytes: 100,
      handshake: {
        role: 'client',
        secret: 'sixteen chars at least',
        self: '127.0.0.1:1',
        peer: '127.0.0.1:2',
        timeoutMs: 1_000,
      },
    });
    client.sendMessage({ pattern: 'p', data: 'x'.repeat(60) });
    expect(() => client.sendMessage({ pattern: 'p', data: 'x'.repeat(60) })).toThrow(
      /bytes already wait for the handshake/,
    );
    expect(write).not.toHaveBeenCalled();
    socket.destroy();
  });

  it('refuses to send a frame over the limit', () => {
    const wrapped = new MsgpackSocket(new Socket(), { maxFrameBytes: 10 });
    expect(() => wrapped.sendMessage({ id: 'x', response: 'y'.repeat(20) })).toThrow(
      /exceeds the 10-byte limit/,
    );
  });

  it('accepts only Nest packet shapes', () => {
    expect(isNestPacket({ pattern: 'p', data: 1 })).toBe(true);
    expect(isNestPacket({ pattern: { cmd: 'p' }, data: 1, id: 'x', metadata: {} })).toBe(true);
    expect(isNestPacket({ id: 'x', response: 1, isDisposed: true })).toBe(true);
    expect(isNestPacket({ id: 'x', err: 'e', status: 'error' })).toBe(true);
    expect(isNestPacket([1])).toBe(false);
    expect(isNestPacket('p')).toBe(false);
    expect(isNestPacket(new Map([['pattern', 'p']]))).toBe(false);
    expect(isNestPacket({ pattern: 5 })).toBe(false);
    expect(isNestPacket({ pattern: 'p', id: 7 })).toBe(false);
    expect(isNestPacket({ pattern: 'p', extra: 1 })).toBe(false);
    expect(isNestPacket({ response: 1 })).toBe(false);
  });
});

describe('ServerTCP with MsgpackSocket', () => {
  let server: ServerTCP;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = new ServerTCP({ host: '127.0.0.1', port, socketClass: msgpackSocketClass() });
    server.addHandler('echo', async (data: unknown) => data);
    await new Promise<void>((resolve, reject) =>
      server.listen((error) => (error ? reject(error) : resolve())),
    );
  });

  afterAll(async () => {
    const closed = new Promise((resolve) => server.unwrap<Server>().once('close', resolve));
    server.close();
    await closed;
  });

  async function echoThroughClient(data: unknown): Promise<unknown> {
    const client = new ClientTCP({ host: '127.0.0.1', port, socketClass: msgpackSocketClass() });
    try {
      return await firstValueFrom(client.send('echo', data));
    } finally {
      client.close();
    }
  }

  /** Writes `bytes` on a raw connection and resolves once the server has closed it. */
  async function closedBy(bytes: Buffer): Promise<void> {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(bytes);
    await new Promise((resolve) => socket.once('close', resolve));
  }

  it('round-trips binary, dates and bigints through ClientTCP', async () => {
    const data = { at: new Date(0), blob: Buffer.from('hi'), n: 12n, list: [1, undefined, null] };
    expect(await echoThroughClient(data)).toStrictEqual(data);
  });

  it.each([
    ['garbage', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['an oversized length prefix', header(0xffffffff)],
    ['an empty frame', header(0)],
    ['a truncated msgpack body', Buffer.concat([header(3), Buffer.from([0x93, 0x01, 0x02])])],
    ['valid msgpack of the wrong shape', packFrame({ hello: 'world' })],
    ['a non-object packet', packFrame([1, 2, 3])],
    ['a packet as an object, not positional', packFrame({ pattern: 'echo', data: 1, id: '1' })],
    ['a positional packet of an unknown kind', packFrame([2, 'echo', 1, '1'])],
    ['a positional packet with a field too many', packFrame([0, 'echo', 1, '1', undefined, 'extra'])],
  ])('closes a connection sending %s and keeps serving', async (_, bytes) => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    await closedBy(bytes);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^Dropping connection with 127\.0\.0\.1:\d+: /));
    warn.mockRestore();
    expect(await echoThroughClient({ still: 'serving' })).toEqual({ still: 'serving' });
  });

  it('logs a frame cut short by the peer closing, and keeps serving', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const frame = packPacket({ pattern: 'echo', data: 'x'.repeat(1000), id: '1' });
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const localPort = socket.localPort;
    socket.end(frame.subarray(0, 500));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    await vi.waitFor(() =>
      expect(warn).toHaveBeenCalledWith(
        `Connection with 127.0.0.1:${localPort} ended in the middle of a frame`,
      ),
    );
    warn.mockRestore();
    expect(await echoThroughClient(1)).toBe(1);
  });
});

describe('the cluster-secret handshake between ServerTCP and ClientTCP', () => {
  const SECRET = 'a shared secret of the cluster';
  const handshake = (role: 'server' | 'client', secret = SECRET) => {
    const server = `127.0.0.1:${port}`;
    const self = role === 'server' ? server : '127.0.0.1:1';
    return msgpackSocketClass({ handshake: { role, secret, self, peer: server, timeoutMs: 300 } });
  };
  let server: ServerTCP;
  let port: number;
  const handled: unknown[] = [];
  let warn: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    port = await freePort();
    server = new ServerTCP({ host: '127.0.0.1', port, socketClass: handshake('server') });
    server.addHandler('echo', async (data: unknown) => (handled.push(data), data));
    await new Promise<void>((resolve, reject) =>
      server.listen((error) => (error ? reject(error) : resolve())),
    );
  });

  beforeEach(() => {
    handled.length = 0;
    warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  });

  afterEach(() => warn.mockRestore());

  afterAll(async () => {
    const closed = new Promise((resolve) => server.unwrap<Server>().once('close', resolve));
    server.close();
    await closed;
  });

  async function echo(socketClass: ReturnType<typeof handshake>, target = port): Promise<unknown> {
    const client = new ClientTCP({ host: '127.0.0.1', port: target, socketClass });
    client.on('error', () => {});
    try {
      return await firstValueFrom(client.send('echo', { blob: Buffer.from('hi') }));
    } finally {
      client.close();
    }
  }

  /** A raw connection: writes `bytes` and resolves with what came back once the server closed it. */
  async function rawExchange(bytes: Buffer | null): Promise<{ received: Buffer; localPort: number }> {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => socket.once('connect', resolve));
    const localPort = socket.localPort!;
    if (bytes) socket.write(bytes);
    await new Promise((resolve) => socket.once('close', resolve));
    return { received: Buffer.concat(chunks), localPort };
  }

  const droppedWith = (localPort: number, reason: RegExp) =>
    vi.waitFor(() =>
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(
          new RegExp(`^Dropping connection with 127\\.0\\.0\\.1:${localPort}: ${reason.source}`),
        ),
      ),
    );

  it('lets requests through once both sides proved the secret, queueing what was sent before', async () => {
    expect(await echo(handshake('client'))).toStrictEqual({ blob: Buffer.from('hi') });
    expect(handled).toHaveLength(1);
    expect(warn).not.toHaveBeenCalled();
  });

  it('drops a client with another secret before Nest sees its request', async () => {
    await expect(echo(handshake('client', 'not the secret of this cluster'))).rejects.toThrow(
      'Connection closed',
    );
    await vi.waitFor(() =>
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/handshake failed: wrong client proof/)),
    );
    expect(handled).toEqual([]);
  });

  it('drops a raw connection sending a Nest packet, after sending it only a challenge', async () => {
    const packet = packPacket({ pattern: 'echo', data: 1, id: '1' });
    const { received, localPort } = await rawExchange(packet);
    await droppedWith(localPort, /packet before the cluster-secret handshake completed/);
    expect(received.readUInt32BE(0)).toBe(received.length - FRAME_HEADER_BYTES);
    expect(received.subarray(FRAME_HEADER_BYTES).includes('challenge')).toBe(true);
    expect(handled).toEqual([]);
  });

  it('refuses a large frame before authentication without waiting for its body', async () => {
    const { localPort } = await rawExchange(header(100_000));
    await droppedWith(localPort, /frame length 100000 exceeds the 1024-byte limit/);
  });

  it('drops a connection that does not authenticate in time', async () => {
    const { localPort } = await rawExchange(null);
    await droppedWith(localPort, /not authenticated within 300 ms/);
  });

  it('gives up on a server that does not challenge', async () => {
    const plainPort = await freePort();
    const plain = new ServerTCP({ host: '127.0.0.1', port: plainPort, socketClass: msgpackSocketClass() });
    plain.addHandler('echo', async (data: unknown) => data);
    await new Promise<void>((resolve) => plain.listen(() => resolve()));
    try {
      await expect(echo(handshake('client'), plainPort)).rejects.toThrow('Connection closed');
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/not authenticated within 300 ms/));
    } finally {
      plain.close();
    }
  });
});
