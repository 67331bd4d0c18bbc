import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import type { KvClient } from '../load/kv-client.ts';

/**
 * An etcd3 client bound to one member. The client's default fault handling (three retries, and a circuit
 * breaker that stops calling a host for 5 s after three failures) is replaced by none: the benchmark sees
 * each call's own outcome, as it does imdgo's.
 */
export function etcdClient(clientUrl: string): Etcd3 {
  return new Etcd3({ hosts: clientUrl, faultHandling: { host: () => noop, global: noop } });
}

/** Linearizable reads by default (etcd's default); serializable ones are answered by the member alone. */
export function etcdKv(client: Etcd3, serializable = false, timeoutMs?: number): KvClient {
  const options = () => (timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs });
  return {
    put: (key, value) => client.put(key).value(value).options(options()).exec(),
    get: (key) => client.get(key).serializable(serializable).options(options()).string(),
  };
}
