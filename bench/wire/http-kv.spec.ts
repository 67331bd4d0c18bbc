import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall, WIRE_CLIENTS } from './http-call.ts';
import { httpKv } from './http-kv.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A server that records each request and answers from a table of `METHOD url` → [status, body]. */
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
const answers = new Map<string, [number, unknown]>();

async function bodyOf(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text;
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = await bodyOf(request);
    seen.push({
      method: request.method!,
      url: request.url!,
      contentType: request.headers['content-type'],
      body,
    });
    const [status, reply] = answers.get(`${request.method} ${request.url}`) ?? [404, { message: 'no route' }];
    const text = JSON.stringify(reply);
    // With its length, as both systems answer.
    response
      .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      .end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe.each(WIRE_CLIENTS)('the wire KvClients through %s', (client) => {
  const call = httpCall(client);

  it("drive imdgo's REST API: PUT { value }, GET the value, null on 404, local reads by query", async () => {
    seen.length = 0;
    answers.set('PUT /kv/a%20b', [200, { key: 'a b', revision: 1, previous: null }]);
    answers.set('GET /kv/a%20b', [200, { key: 'a b', value: 'v1' }]);
    answers.set('GET /kv/a%20b?consistency=local', [200, { key: 'a b', value: 'v2' }]);
    const kv = httpKv(call, 'imdgo', baseUrl, false);
    await kv.put('a b', 'v1');
    expect(seen[0]).toEqual({
      method: 'PUT',
      url: '/kv/a%20b',
      contentType: 'application/json',
      body: '{"value":"v1"}',
    });
    expect(await kv.get('a b')).toBe('v1');
    expect(await kv.get('missing')).toBeNull();
    expect(await httpKv(call, 'imdgo', baseUrl, true).get('a b')).toBe('v2');
  });

  it("drive etcd's JSON gateway with base64 keys and values, serializable for local reads", async () => {
    seen.length = 0;
    answers.set('POST /v3/kv/put', [200, { header: {} }]);
    answers.set('POST /v3/kv/range', [200, { kvs: [{ value: Buffer.from('v1').toString('base64') }] }]);
    await httpKv(call, 'etcd', baseUrl, false).put('k', 'v1');
    expect(JSON.parse(seen[0]!.body)).toEqual({ key: 'aw==', value: 'djE=' });
    expect(await httpKv(call, 'etcd', baseUrl, true).get('k')).toBe('v1');
    expect(JSON.parse(seen[1]!.body)).toEqual({ key: 'aw==', serializable: true });
  });

  it('throw on an answer that is not 2xx, with its status', async () => {
    answers.set('PUT /kv/full', [503, { code: 'NO_LEADER' }]);
    await expect(httpKv(call, 'imdgo', baseUrl, false).put('full', 'v')).rejects.toThrow(
      /HTTP 503: .*NO_LEADER/,
    );
  });
});
