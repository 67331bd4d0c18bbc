import { Logger } from '@nestjs/common';
import { ClientTCP, ServerTCP } from '@nestjs/microservices';
import { connect, Socket, type Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../testing/free-port.ts';
import { FRAME_HEADER_BYTES, packFrame } from './msgpack-codec.ts';
import { isNestPacket, MsgpackSocket, msgpackSocketClass } from './msgpack-socket.ts';

/** A MsgpackSocket over an unconnected socket, fed by emitting 'data' on it. */
function parser(maxFrameBytes?: number) {
  const socket = new Socket();
  const framing = new MsgpackSocket(socket, { maxFrameBytes });
  const messages: unknown[] = [];
  socket.on('message', (message) => messages.push(message));
  return { framing, socket, messages, feed: (chunk: Buffer) => socket.emit('data', chunk) };
}

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
  const stream = Buffer.concat(packets.map((packet) => packFrame(packet)));

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
    const { feed, messages, socket } = parser(1024);
    feed(header(1025));
    expect(socket.destroyed).toBe(true);
    expect(messages).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('exceeds the 1024-byte limit'));
    warn.mockRestore();
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
  ])('closes a connection sending %s and keeps serving', async (_, bytes) => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    await closedBy(bytes);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^Dropping connection with 127\.0\.0\.1:\d+: /));
    warn.mockRestore();
    expect(await echoThroughClient({ still: 'serving' })).toEqual({ still: 'serving' });
  });

  it('survives a frame cut short by the peer closing', async () => {
    const frame = packFrame({ pattern: 'echo', data: 'x'.repeat(1000), id: '1' });
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.end(frame.subarray(0, 500));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(await echoThroughClient(1)).toBe(1);
  });
});
