// Runs inside the CommonJS consumer app of test/consumer-package.e2e-spec.ts, which installs the optional peers.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ImdgoMetrics } from 'imdgo/metrics';
import { ImdgoHealthIndicator } from 'imdgo/terminus';
import { startImdgoCluster, type ImdgoTestCluster } from 'imdgo/testing';

let cluster: ImdgoTestCluster;
before(async () => {
  cluster = await startImdgoCluster(3, { providers: [ImdgoHealthIndicator, ImdgoMetrics] });
});
after(() => cluster.close());

test('the opt-in health indicator and metrics of imdgo/terminus and imdgo/metrics work', async () => {
  const leader = await cluster.leader();
  await leader.store.set('k', 1);
  const ready = await leader.module.get(ImdgoHealthIndicator).isReady();
  assert.equal(ready.imdgo.status, 'up');
  const text = await leader.module.get(ImdgoMetrics).registry.metrics();
  assert.match(text, /imdgo_role\{role="leader"\} 1/);
});
