// Runs inside the temporary consumer apps of test/consumer-package.e2e-spec.ts, against the packed tarball.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startImdgoCluster, type ImdgoTestCluster } from 'imdgo/testing';
import { KeyLog } from './key-log.service.js';

let cluster: ImdgoTestCluster;
before(async () => {
  cluster = await startImdgoCluster(3, { providers: [KeyLog] });
});
after(() => cluster.close());

test('a write on one node is read on another and reaches @OnKeyChange on every node', async () => {
  const [first, second] = cluster.nodes;
  await first!.store.set('user:1', { name: 'Ada' });
  assert.deepEqual(await second!.store.get('user:1'), { name: 'Ada' });
  await Promise.all(cluster.nodes.map((node) => node.module.get(KeyLog).changed('user:1')));
});
