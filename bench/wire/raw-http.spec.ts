import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawHttpCall, readAnswer } from './raw-http.ts';

/**
 * A TCP server that answers each request (one per packet here: the client writes a request at once) with
 * the raw bytes `reply` makes of it, written in the pieces it returns.
 */
let server: Server;
let baseUrl: string;
let reply: (request: string) => (string | 'close')[] = () => [];
const connections: Socket[] = [];
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    connections.push(socket);
    socket.on('data', (data) => {
      requests.push(data.toString());
      for (const piece of reply(data.toString())) {
        if (piece === 'close') socket.end();
        else socket.write(piece);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const socket of connections) socket.destroy();
  return new Promise((resolve) => server.close(resolve));
});

function answer(status: string, body: string, headers = ''): string {
  return `HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`;
}

describe('readAnswer', () => {
  const whole = Buffer.from(answer('201 Created', '{"text":"déjà vu"}', 'Content-Length-Extra: 1\r\n'));

  it('reads the status and the body once the whole answer is there, not before', () => {
    const headEnd = whole.indexOf('\r\n\r\n');
    for (const cut of [0, 10, headEnd + 2, headEnd + 4, whole.length - 1]) {
      expect(readAnswer(whole.subarray(0, cut))).toBeNull();
    }
    expect(readAnswer(whole)).toEqual({ answer: { status: 201, text: '{"text":"déjà vu"}' }, close: false });
  });

  it('tells Connection: close, and throws for an answer without Content-Length', () => {
    expect(readAnswer(Buffer.from(answer('200 OK', '', 'connection: Close\r\n')))?.close).toBe(true);
    expect(() =>
      readAnswer(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')),
    ).toThrow(/without Content-Length/);
  });
});

describe('rawHttpCall', () => {
  it('writes a request with Host, and a JSON body with its type and byte length', async () => {
    requests.length = 0;
    reply = () => [answer('200 OK', '{}')];
    const call = rawHttpCall();
    await call('PUT', `${baseUrl}/kv/a%20b`, '{"value":"é"}');
    await call('GET', `${baseUrl}/kv/x?consistency=local`);
    const host = baseUrl.slice('http://'.length);
    expect(requests).toEqual([
      `PUT /kv/a%20b HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"value":"é"}`,
      `GET /kv/x?consistency=local HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    ]);
  });

  it('opens one connection per request in flight and reuses them', async () => {
    const before = connections.length;
    reply = (request) => [answer('200 OK', request.split(' ')[1]!)];
    const call = rawHttpCall();
    const first = await Promise.all(['/1', '/2', '/3'].map((path) => call('GET', `${baseUrl}${path}`)));
    expect(first.map((a) => a.text)).toEqual(['/1', '/2', '/3']);
    await Promise.all(['/4', '/5'].map((path) => call('GET', `${baseUrl}${path}`)));
    expect(connections.length).toBe(before + 3);
  });

  it('opens a new connection after an answer with Connection: close', async () => {
    const before = connections.length;
    reply = () => [answer('200 OK', 'bye', 'Connection: close\r\n'), 'close'];
    const call = rawHttpCall();
    expect((await call('GET', `${baseUrl}/a`)).text).toBe('bye');
    expect((await call('GET', `${baseUrl}/b`)).text).toBe('bye');
    expect(connections.length).toBe(before + 2);
  });

  it('rejects when the connection closes before the whole answer, or the answer has no Content-Length', async () => {
    reply = () => [answer('200 OK', 'complete').slice(0, -2), 'close'];
    await expect(rawHttpCall()('GET', `${baseUrl}/cut`)).rejects.toThrow(/closed before the answer/);
    reply = () => ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'];
    await expect(rawHttpCall()('GET', `${baseUrl}/chunked`)).rejects.toThrow(/without Content-Length/);
  });
});
