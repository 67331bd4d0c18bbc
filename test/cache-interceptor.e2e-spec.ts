import { CacheInterceptor, CacheModule, CacheTTL } from '@nestjs/cache-manager';
import { Controller, Get, Param, UseInterceptors } from '@nestjs/common';
import { ImdgoStore, imdgoKeyvStore } from 'imdgo';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import { waitFor } from './support/cluster.ts';
import { closeHttpCluster, startHttpCluster, type HttpNode } from './support/http-cluster.ts';

// Long enough for three requests under load, short enough to wait for.
const REPORT_TTL_MS = 4_000;

@Controller('reports')
@UseInterceptors(CacheInterceptor)
class ReportController {
  constructor(private readonly runtime: ImdgoRuntime) {}

  /** Names the node that computed the response, so a test can tell a cached one from a fresh one. */
  @Get(':id')
  @CacheTTL(REPORT_TTL_MS)
  report(@Param('id') id: string): { id: string; computedBy: string } {
    return { id, computedBy: this.runtime.node.id };
  }
}

async function getReport(node: HttpNode, id: string): Promise<{ id: string; computedBy: string }> {
  const response = await fetch(`${node.url}/reports/${id}`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as { id: string; computedBy: string };
}

describe('CacheInterceptor over imdgoKeyvStore on a 3-node app', () => {
  let nodes: HttpNode[];

  beforeAll(async () => {
    nodes = await startHttpCluster(3, {
      imports: [
        CacheModule.registerAsync({
          useFactory: (store: ImdgoStore) => {
            const adapter: KeyvStoreAdapter = imdgoKeyvStore(store, { map: 'http-cache' });
            return { stores: [new Keyv({ store: adapter })] };
          },
          inject: [ImdgoStore],
        }),
      ],
      controllers: [ReportController],
    });
  });
  afterAll(async () => {
    await closeHttpCluster(nodes);
  });

  it('serves from every node the response one node cached, until it expires on all of them', async () => {
    const [a, b, c] = nodes;
    const cachedAfter = Date.now();
    const first = await getReport(a!, 'q3');
    expect(first.computedBy).toBe(a!.id);
    // CacheInterceptor stores a response after sending it: wait until the other nodes hold it.
    for (const node of [b!, c!]) {
      await waitFor(
        () => node.store.map('http-cache').peek('keyv:/reports/q3') !== undefined,
        `the cached response on ${node.id}`,
      );
    }
    expect(await getReport(b!, 'q3')).toEqual(first);
    expect(await getReport(c!, 'q3')).toEqual(first);
    // Cached under Keyv's namespace with imdgo's own TTL: one deadline, agreed through the log.
    const [entry] = (await a!.store.map('http-cache').entries()).items;
    expect(entry).toMatchObject({ key: 'keyv:/reports/q3' });
    expect(entry!.expiresAt).toBeGreaterThanOrEqual(cachedAfter + REPORT_TTL_MS);
    expect(entry!.expiresAt).toBeLessThanOrEqual(Date.now() + REPORT_TTL_MS);
    // Expired by the leader's expire entry: gone from every node's memory, not just hidden by Keyv.
    for (const node of nodes) {
      await waitFor(
        () => node.store.map('http-cache').peek('keyv:/reports/q3') === undefined,
        `expiry on ${node.id}`,
      );
    }
    expect(Date.now()).toBeGreaterThanOrEqual(entry!.expiresAt!);
    const recomputed = await getReport(c!, 'q3');
    expect(recomputed.computedBy).toBe(c!.id);
    expect(await getReport(a!, 'q3')).toEqual(recomputed);
  });

  it('implements the rest of Keyv: namespaces, batches, has, clear of one namespace only', async () => {
    const [a, b] = nodes;
    const users = new Keyv({ store: imdgoKeyvStore(a!.store), namespace: 'users' });
    const orders = new Keyv({ store: imdgoKeyvStore(b!.store), namespace: 'orders' });
    await users.setMany([
      { key: 'u1', value: { name: 'Ada' } },
      { key: 'u2', value: { name: 'Bob' }, ttl: 60_000 },
    ]);
    await orders.set('o1', 42);
    const usersOnB = new Keyv({ store: imdgoKeyvStore(b!.store), namespace: 'users' });
    expect(await usersOnB.getMany(['u1', 'u2', 'u3'])).toEqual([{ name: 'Ada' }, { name: 'Bob' }, undefined]);
    expect(await usersOnB.hasMany(['u1', 'u3'])).toEqual([true, false]);
    expect((await b!.store.map('keyv').getEntry('users:u2'))!.expiresAt).not.toBeNull();
    expect(await usersOnB.deleteMany(['u1', 'u3'])).toBe(false);
    expect(await users.has('u1')).toBe(false);
    await usersOnB.clear();
    expect(await users.get('u2')).toBeUndefined();
    expect(await orders.get('o1')).toBe(42);
    expect(await orders.delete('o1')).toBe(true);
    expect(await orders.delete('o1')).toBe(false);
  });
});
