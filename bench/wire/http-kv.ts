import type { KvClient } from '../load/kv-client.ts';
import type { HttpAnswer, HttpCall } from './http-call.ts';

/**
 * The two systems' HTTP APIs behind one KvClient, both through the same HttpCall (node:http or fetch,
 * keep-alive, one pool per origin), so the same HTTP client stack drives each. A non-2xx answer throws with
 * its status.
 */
export type WireTarget = 'imdgo' | 'etcd';

/**
 * imdgo's demo REST API: `PUT /kv/:key` with `{ value }`, `GET /kv/:key` (404: absent), with
 * `?consistency=local` for the local read.
 */
export function imdgoHttpKv(call: HttpCall, baseUrl: string, local: boolean): KvClient {
  const query = local ? '?consistency=local' : '';
  return {
    async put(key, value) {
      return answer(await call('PUT', `${baseUrl}/kv/${encodeURIComponent(key)}`, JSON.stringify({ value })));
    },
    async get(key) {
      const response = await call('GET', `${baseUrl}/kv/${encodeURIComponent(key)}${query}`);
      if (response.status === 404) return null;
      return (answer(response) as { value: unknown }).value;
    },
  };
}

/**
 * etcd's JSON gateway on its client port: `POST /v3/kv/put` and `POST /v3/kv/range`, keys and values in
 * base64; `serializable` range reads are answered by the member alone (etcd's local read).
 */
export function etcdHttpKv(call: HttpCall, baseUrl: string, serializable: boolean): KvClient {
  const post = async (path: string, body: object): Promise<unknown> =>
    answer(await call('POST', `${baseUrl}${path}`, JSON.stringify(body)));
  return {
    put: (key, value) => post('/v3/kv/put', { key: base64(key), value: base64(value) }),
    async get(key) {
      const result = (await post('/v3/kv/range', { key: base64(key), serializable })) as {
        kvs?: { value?: string }[];
      };
      const value = result.kvs?.[0]?.value;
      return value === undefined ? null : Buffer.from(value, 'base64').toString('utf8');
    },
  };
}

export function httpKv(call: HttpCall, target: WireTarget, baseUrl: string, local: boolean): KvClient {
  return target === 'imdgo' ? imdgoHttpKv(call, baseUrl, local) : etcdHttpKv(call, baseUrl, local);
}

function answer({ status, text }: HttpAnswer): unknown {
  if (status < 200 || status > 299) throw new Error(`HTTP ${status}: ${text.slice(0, 200)}`);
  return text === '' ? null : JSON.parse(text);
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
