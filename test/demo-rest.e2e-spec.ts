import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { ImdgoCluster } from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoApp } from '../apps/demo/src/create-demo-app.ts';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { TEST_TIMING } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

interface DemoNode {
  readonly id: string;
  readonly app: INestApplication;
  readonly url: string;
  closed: boolean;
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  /** JSON of many shapes (or text), checked by each test. */
  readonly body: any;
}

const MAX_VALUE_BYTES = 16 * 1024;
const WATCH_HISTORY = 50;

/** Three demo apps in this process, each with its HTTP API on a free loopback port. */
async function startDemoCluster(): Promise<DemoNode[]> {
  const members = (await Promise.all([freePort(), freePort(), freePort()])).map((p) => `127.0.0.1:${p}`);
  return Promise.all(
    members.map(async (id) => {
      const app = await createDemoApp(
        {
          nodeId: id,
          members,
          httpHost: '127.0.0.1',
          httpPort: 0,
          // The one-group API: SSE ids and 410s by revision, members added and removed.
          grid: { partitions: 1 },
          tuning: {
            ...TEST_TIMING,
            requestTimeoutMs: 1_500,
            maxValueBytes: MAX_VALUE_BYTES,
            watchHistorySize: WATCH_HISTORY,
          },
        },
        testLogger(),
      );
      await app.listen(0, '127.0.0.1');
      return { id, app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1'), closed: false };
    }),
  );
}

async function call(
  node: DemoNode,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('application/json');
  return { status: response.status, headers: response.headers, body: json ? JSON.parse(text) : text };
}

async function expect400(reply: Promise<Reply>, pattern: RegExp, code?: string): Promise<void> {
  const { status, body } = await reply;
  expect(status).toBe(400);
  expect(JSON.stringify(body.message)).toMatch(pattern);
  if (code) expect(body.code).toBe(code);
}

/** Polls until `probe` holds, or fails after `timeoutMs`. */
async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads Server-Sent Events until `count` arrived, then hangs up. */
async function readEvents(
  node: DemoNode,
  path: string,
  count: number,
  headers: Record<string, string> = {},
  whileOpen: () => Promise<unknown> = async () => {},
): Promise<{ id: string; data: { type: string; key: string; value?: unknown; revision: number } }[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10_000);
  try {
    const response = await fetch(`${node.url}${path}`, { headers, signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    await whileOpen();
    const events = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split('\n')
            .find((line) => line.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        const data = field('data');
        if (data !== undefined) events.push({ id: field('id')!, data: JSON.parse(data) });
      }
    }
    return events;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe('demo REST API', () => {
  let nodes: DemoNode[];
  const live = () => nodes.filter((n) => !n.closed);

  async function leader(): Promise<DemoNode> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      for (const node of live()) {
        if (node.app.get(ImdgoCluster).localStatus().role === 'leader') return node;
      }
      if (Date.now() > deadline) throw new Error('no leader elected');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function follower(): Promise<DemoNode> {
    const current = await leader();
    return live().find((n) => n !== current)!;
  }

  beforeAll(async () => {
    nodes = await startDemoCluster();
    await leader();
  });
  afterAll(async () => {
    await Promise.all(live().map((n) => n.app.close()));
  });

  it('writes through any node and reads from every node at each consistency level', async () => {
    const writer = await follower();
    const put = await call(writer, 'PUT', '/kv/user:1', { value: { name: 'Ada', langs: ['en', 'fr'] } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ key: 'user:1', previous: null });
    expect(put.body.revision).toBeGreaterThan(0);

    for (const node of nodes) {
      const got = await call(node, 'GET', '/kv/user:1?consistency=linearizable');
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({
        key: 'user:1',
        value: { name: 'Ada', langs: ['en', 'fr'] },
        version: 1,
      });
      expect((await call(node, 'GET', '/kv/user:1?consistency=leader')).body.value.name).toBe('Ada');
    }
    const again = await call(writer, 'PUT', '/kv/user:1', { value: 'replaced' });
    expect(again.body.previous).toEqual({ name: 'Ada', langs: ['en', 'fr'] });
    for (const node of nodes) {
      await eventually(
        async () => (await call(node, 'GET', '/kv/user:1?consistency=local')).body.value === 'replaced',
        `${node.id} to apply the write`,
      );
    }
  });

  it('lists entries in key order, a page at a time', async () => {
    const node = nodes[0]!;
    for (const key of ['page:c', 'page:a', 'page:e', 'page:b', 'page:d', 'other']) {
      expect((await call(node, 'PUT', `/kv/${key}`, { value: key })).status).toBe(200);
    }
    const first = await call(node, 'GET', '/kv?prefix=page:&limit=2');
    expect(first.body.items.map((e: { key: string }) => e.key)).toEqual(['page:a', 'page:b']);
    expect(first.body.cursor).toBe('page:b');
    const rest = await call(node, 'GET', `/kv?prefix=page:&limit=10&after=${first.body.cursor}`);
    expect(rest.body.items.map((e: { key: string }) => e.key)).toEqual(['page:c', 'page:d', 'page:e']);
    expect(rest.body.cursor).toBeNull();
  });

  it('deletes keys and answers 404 for a missing key', async () => {
    const node = await follower();
    await call(node, 'PUT', '/kv/doomed', { value: 1 });
    const deleted = await call(node, 'DELETE', '/kv/doomed');
    expect(deleted.status).toBe(200);
    expect(deleted.body.previous).toBe(1);
    const missing = await call(node, 'GET', '/kv/doomed');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('key "doomed" not found');
    expect((await call(node, 'DELETE', '/kv/doomed')).status).toBe(404);
  });

  it('compares and sets by value or by version, answering 409 with the current value on a mismatch', async () => {
    const node = await follower();
    const created = await call(node, 'POST', '/kv/lock/cas', { expected: null, value: 'me' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ key: 'lock', value: 'me', version: 1 });

    const lost = await call(node, 'POST', '/kv/lock/cas', { expected: 'someone else', value: 'you' });
    expect(lost.status).toBe(409);
    expect(lost.body).toMatchObject({ code: 'CAS_FAILED', current: 'me', version: 1 });

    const byVersion = await call(node, 'POST', '/kv/lock/cas', { version: 1, value: 'me again' });
    expect(byVersion.body).toMatchObject({ value: 'me again', version: 2 });
    const stale = await call(node, 'POST', '/kv/lock/cas', { version: 1, value: 'late' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ current: 'me again', version: 2 });
  });

  it('increments counters', async () => {
    const node = nodes[1]!;
    expect((await call(node, 'POST', '/kv/hits/increment', {})).body).toMatchObject({ value: 1 });
    expect((await call(node, 'POST', '/kv/hits/increment', { delta: 41 })).body).toMatchObject({ value: 42 });
  });

  it('keeps named maps apart from the default map and from each other', async () => {
    const node = nodes[2]!;
    await call(node, 'PUT', '/maps/users/42', { value: { name: 'Grace' } });
    await call(node, 'PUT', '/maps/orders/42', { value: { total: 9.5 } });
    expect((await call(node, 'GET', '/maps/users/42')).body.value).toEqual({ name: 'Grace' });
    expect((await call(node, 'GET', '/maps/orders/42')).body.value).toEqual({ total: 9.5 });
    expect((await call(node, 'GET', '/kv/42')).status).toBe(404);
    expect((await call(node, 'GET', '/maps/users')).body.items).toHaveLength(1);
    expect((await call(node, 'POST', '/maps/users/visits/increment', { delta: 2 })).body.value).toBe(2);
    expect((await call(node, 'POST', '/maps/users/42/cas', { version: 1, value: 'x' })).status).toBe(200);
    expect((await call(node, 'DELETE', '/maps/orders/42')).status).toBe(200);
    expect((await call(node, 'GET', '/maps/orders/42')).status).toBe(404);
  });

  it('expires a key after its ttl', async () => {
    const node = nodes[0]!;
    await call(node, 'PUT', '/kv/session', { value: 'token', ttl: 200 });
    const entry = await call(node, 'GET', '/kv/session');
    expect(entry.body.expiresAt).toBeGreaterThan(Date.now());
    await eventually(
      async () => (await call(node, 'GET', '/kv/session')).status === 404,
      'the key to expire',
    );
  });

  it('streams changes as Server-Sent Events whose id is the revision, resuming after Last-Event-ID', async () => {
    const [watcher, writer] = [nodes[0]!, nodes[1]!];
    const events = await readEvents(watcher, '/watch?prefix=sse:', 3, {}, async () => {
      await call(writer, 'PUT', '/kv/sse:a', { value: 1 });
      await call(writer, 'PUT', '/kv/elsewhere', { value: 'not watched' });
      await call(writer, 'PUT', '/kv/sse:b', { value: 2 });
      await call(writer, 'DELETE', '/kv/sse:a');
    });
    expect(events.map((e) => [e.data.type, e.data.key])).toEqual([
      ['set', 'sse:a'],
      ['set', 'sse:b'],
      ['delete', 'sse:a'],
    ]);
    for (const event of events) expect(event.id).toBe(String(event.data.revision));

    // A browser reconnecting sends the id of the last event it saw and gets what followed.
    const resumed = await readEvents(watcher, '/watch?prefix=sse:', 2, { 'Last-Event-ID': events[0]!.id });
    expect(resumed.map((e) => e.id)).toEqual([events[1]!.id, events[2]!.id]);
    const fromQuery = await readEvents(watcher, `/watch?prefix=sse:&fromRevision=${events[2]!.id}`, 1);
    expect(fromQuery[0]!.data).toMatchObject({ type: 'delete', key: 'sse:a' });

    await call(writer, 'PUT', '/maps/feeds/sse:x', { value: 'in a map' });
    const inMap = await readEvents(watcher, '/watch?map=feeds&fromRevision=1', 1);
    expect(inMap[0]!.data).toMatchObject({ map: 'feeds', key: 'sse:x', value: 'in a map' });
  });

  it('answers 400 naming the field for invalid input', async () => {
    const node = nodes[0]!;
    await expect400(call(node, 'PUT', '/kv/k', { ttl: 5 }), /value is required/);
    await expect400(call(node, 'PUT', '/kv/k', { value: null }), /value is required/);
    await expect400(call(node, 'PUT', '/kv/k', { value: 1, extra: true }), /property extra should not exist/);
    await expect400(call(node, 'PUT', '/kv/k', { value: 1, ttl: -1 }), /ttl must not be less than 1/);
    await expect400(call(node, 'PUT', '/kv/k', '{"value": '), /JSON/i);
    await expect400(call(node, 'GET', '/kv/k?consistency=eventual'), /consistency must be one of/);
    await expect400(call(node, 'GET', '/kv?limit=0'), /limit must not be less than 1/);
    await expect400(call(node, 'GET', '/kv?limit=many'), /limit must be an integer/);
    await expect400(call(node, 'POST', '/kv/k/cas', { value: 1 }), /exactly one of expected .* or version/);
    await expect400(
      call(node, 'POST', '/kv/k/cas', { expected: 1, version: 1, value: 2 }),
      /exactly one of expected/,
    );
    await expect400(call(node, 'POST', '/kv/k/increment', { delta: 'one' }), /delta must be a number/);
    await expect400(
      call(node, 'GET', `/kv/${'k'.repeat(1025)}`),
      /invalid key: the key is 1025 bytes/,
      'INVALID_KEY',
    );
    await call(node, 'PUT', '/kv/name', { value: 'Ada' });
    await expect400(call(node, 'POST', '/kv/name/increment', {}), /not a number/, 'INVALID_ARGUMENT');
    await expect400(
      call(node, 'POST', '/cluster/transfer-leadership', { target: '10.0.0.1:1' }),
      /not a member/,
    );
    await expect400(
      call(node, 'GET', '/watch', undefined, { 'Last-Event-ID': 'yesterday' }),
      /Last-Event-ID/,
    );
  });

  it('answers 413 for a value larger than maxValueBytes', async () => {
    const reply = await call(nodes[0]!, 'PUT', '/kv/big', { value: 'x'.repeat(MAX_VALUE_BYTES + 1) });
    expect(reply.status).toBe(413);
    expect(reply.body).toMatchObject({ code: 'VALUE_TOO_LARGE' });
    expect(reply.body.message).toMatch(/more than maxValueBytes/);
  });

  it('answers 410 when a watch asks for history that is no longer retained', async () => {
    const node = nodes[0]!;
    for (let i = 0; i <= WATCH_HISTORY; i++) await call(node, 'PUT', '/kv/churn', { value: i });
    const reply = await call(node, 'GET', '/watch?fromRevision=1');
    expect(reply.status).toBe(410);
    expect(reply.body).toMatchObject({ code: 'COMPACTED' });
    expect(reply.body.oldestRevision).toBeGreaterThan(1);
  });

  it("reports the cluster from the leader's view and this node's own, and transfers leadership", async () => {
    const current = await leader();
    const asker = await follower();
    const status = await call(asker, 'GET', '/cluster');
    expect(status.body).toMatchObject({ nodeId: current.id, leader: current.id, role: 'leader' });
    expect(status.body.members.map((m: { id: string }) => m.id).sort()).toEqual(
      nodes.map((n) => n.id).sort(),
    );
    const local = await call(asker, 'GET', '/cluster/local');
    expect(local.body).toMatchObject({ nodeId: asker.id, role: 'follower', leader: current.id });

    const target = nodes.find((n) => n !== current && n !== asker)!;
    const moved = await call(asker, 'POST', '/cluster/transfer-leadership', { target: target.id });
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ leader: target.id });
    expect((await leader()).id).toBe(target.id);
  });

  it('adds and removes members through the admin endpoints', async () => {
    const node = await follower();
    expect((await call(node, 'POST', '/cluster/members', { id: 'not an address' })).status).toBe(400);
    // A learner counts toward no majority, so one that never starts is harmless.
    const added = await call(node, 'POST', '/cluster/members', { id: '127.0.0.1:1', learner: true });
    expect(added.status).toBe(200);
    expect(added.body.members).toContainEqual(expect.objectContaining({ id: '127.0.0.1:1', voter: false }));
    expect((await call(node, 'POST', '/cluster/members', { id: '127.0.0.1:1', learner: true })).status).toBe(
      400,
    );
    const removed = await call(node, 'DELETE', '/cluster/members/127.0.0.1:1');
    expect(removed.status).toBe(200);
    expect(removed.body.members.map((m: { id: string }) => m.id)).not.toContain('127.0.0.1:1');
    expect((await call(node, 'DELETE', '/cluster/members/127.0.0.1:1')).status).toBe(400);
  });

  it('serves health, readiness, Prometheus metrics, the OpenAPI docs and the dashboard', async () => {
    const node = nodes[1]!;
    const health = await call(node, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', info: { imdgo: { status: 'up' } } });
    expect((await call(node, 'GET', '/ready')).status).toBe(200);

    const metrics = await call(node, 'GET', '/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toMatch(/^imdgo_write_seconds_count\{path="(leader|forwarded)"\} [1-9]/m);

    const docs = await call(node, 'GET', '/docs-json');
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining([
        '/kv/{key}',
        '/maps/{map}/{key}/cas',
        '/watch',
        '/cluster/transfer-leadership',
      ]),
    );
    expect((await call(node, 'GET', '/docs')).status).toBe(200);

    const page = await call(node, 'GET', '/');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.body).toContain('dashboard.js');
    expect((await call(node, 'GET', '/dashboard.js')).status).toBe(200);
    expect((await call(node, 'GET', '/no-such-page')).status).toBe(404);
  });

  it('answers 503 with Retry-After when no majority is left, while liveness stays up', async () => {
    const [alone, ...others] = nodes;
    for (const node of others) {
      node.closed = true;
      await node.app.close();
    }
    const write = await call(alone!, 'PUT', '/kv/orphan', { value: 1 });
    expect(write.status).toBe(503);
    expect(write.headers.get('retry-after')).toBe('1');
    expect(write.body.code).toMatch(/^(NO_LEADER|TIMEOUT)$/);
    const read = await call(alone!, 'GET', '/kv/user:1');
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('1');
    expect((await call(alone!, 'GET', '/kv/user:1?consistency=local')).status).toBe(200);
    expect((await call(alone!, 'GET', '/health')).status).toBe(200);
    await eventually(
      async () => (await call(alone!, 'GET', '/ready')).status === 503,
      'readiness to go down',
    );
  });
});
