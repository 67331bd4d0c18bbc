import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoApp } from '../apps/demo/src/create-demo-app.ts';
import type { LocksView } from '../apps/demo/src/locks/locks.controller.ts';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { TEST_TIMING } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

describe('the demo: its singleton job and the lock holders', () => {
  let apps: { app: INestApplication; url: string }[] = [];

  beforeAll(async () => {
    const members = (await Promise.all([freePort(), freePort(), freePort()])).map((p) => `127.0.0.1:${p}`);
    apps = await Promise.all(
      members.map(async (nodeId) => {
        const app = await createDemoApp(
          { nodeId, members, httpHost: '127.0.0.1', httpPort: 0, tuning: TEST_TIMING },
          testLogger(),
        );
        await app.listen(0, '127.0.0.1');
        return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
      }),
    );
  });
  afterAll(async () => {
    await Promise.all(apps.map(({ app }) => app.close()));
  });

  const views = async (): Promise<LocksView[]> =>
    Promise.all(apps.map(async ({ url }) => (await fetch(`${url}/locks`)).json() as Promise<LocksView>));

  it('runs demo-report on the node holding its election, and every node shows that holder', async () => {
    let seen = await views();
    const deadline = Date.now() + 20_000;
    while (!seen.every((view) => (view.lastReport?.runs ?? 0) >= 2)) {
      if (Date.now() > deadline) throw new Error(`demo-report did not run twice: ${JSON.stringify(seen)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = await views();
    }
    const holders = seen.map((v) => v.holders.find((h) => h.kind === 'election' && h.name === 'demo-report'));
    expect(new Set(holders.map((h) => h?.node)).size).toBe(1);
    expect(seen[0]!.lastReport!.node).toBe(holders[0]!.node);
  });
});
