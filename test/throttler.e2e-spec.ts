import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Throttle, ThrottlerGuard, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { ImdgoStore, ImdgoThrottlerStorage } from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/cluster.ts';
import { closeHttpCluster, startHttpCluster, type HttpNode } from './support/http-cluster.ts';

@Controller()
class PingController {
  @Get('ping')
  @Throttle({ default: { limit: 5, ttl: 60_000 } })
  ping(): string {
    return 'pong';
  }

  @Get('burst')
  @Throttle({ default: { limit: 10, ttl: 60_000 } })
  burst(): string {
    return 'ok';
  }
}

async function status(node: HttpNode, path: string): Promise<number> {
  const response = await fetch(`${node.url}${path}`, { signal: AbortSignal.timeout(20_000) });
  await response.text();
  return response.status;
}

describe('ImdgoThrottlerStorage behind ThrottlerGuard on a 3-node app', () => {
  let nodes: HttpNode[];

  beforeAll(async () => {
    nodes = await startHttpCluster(3, {
      imports: [
        ThrottlerModule.forRootAsync({
          inject: [ImdgoStore],
          useFactory: (store: ImdgoStore) => {
            const storage: ThrottlerStorage = new ImdgoThrottlerStorage(store);
            return { throttlers: [{ ttl: 60_000, limit: 1_000 }], storage };
          },
        }),
      ],
      controllers: [PingController],
      providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }, ImdgoThrottlerStorage],
    });
  });
  afterAll(async () => {
    await closeHttpCluster(nodes);
  });

  it('holds the limit for the cluster when requests go round-robin to the three instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push(await status(nodes[i % 3]!, '/ping'));
    // Per instance, each would have seen at most 3 requests, under the limit of 5.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429]);
  });

  it('counts concurrent hits on every instance exactly once each', async () => {
    const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => status(nodes[i % 3]!, '/burst')));
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(14);
  });

  it('is injectable, and instances built by Nest share the counts', async () => {
    const [a, b] = nodes.map((node) => node.app.get(ImdgoThrottlerStorage));
    const first = await a!.increment('tracker', 60_000, 1, 30_000, 'custom');
    expect(first).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
    expect(first.timeToExpire).toBe(60);
    const second = await b!.increment('tracker', 60_000, 1, 30_000, 'custom');
    expect(second).toMatchObject({ totalHits: 2, isBlocked: true, timeToBlockExpire: 30 });
    // Blocked hits are answered without a write: the record's version stays where the block left it.
    const blockedAt = (await nodes[0]!.store.map('throttler').getEntry('custom:tracker'))!.version;
    for (const node of nodes.slice(0, 2)) {
      const local = () => node.store.map<{ blockedUntil: number }>('throttler').peek('custom:tracker');
      await waitFor(() => (local()?.blockedUntil ?? 0) > 0, `the block applied on ${node.id}`);
    }
    for (const storage of [a!, b!, a!]) {
      expect(await storage.increment('tracker', 60_000, 1, 30_000, 'custom')).toMatchObject({
        isBlocked: true,
      });
    }
    expect((await nodes[0]!.store.map('throttler').getEntry('custom:tracker'))!.version).toBe(blockedAt);
    await expect(a!.increment('tracker', -1, 1, 0, 'custom')).rejects.toThrow(/ttl must be a non-negative/);
  });
});
