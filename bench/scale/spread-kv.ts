import type { KvClient } from '../load/kv-client.ts';

/** One client over several nodes: each call goes to the next node in turn, so every node takes its share. */
export function spreadKv(clients: readonly KvClient[]): KvClient {
  if (clients.length === 0) throw new Error('spreadKv needs at least one client');
  let next = 0;
  const pick = (): KvClient => {
    const client = clients[next]!;
    next = (next + 1) % clients.length;
    return client;
  };
  return { put: (key, value) => pick().put(key, value), get: (key) => pick().get(key) };
}
