import 'reflect-metadata';
import { ImdgoCluster, ImdgoStore } from 'imdgo';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDemoConfig } from '../apps/demo/src/config/demo-config.ts';
import { createDemoApp } from '../apps/demo/src/create-demo-app.ts';
import { freePort } from '../libs/imdgo/testing/free-port.ts';
import { createTestPki } from '../libs/imdgo/testing/test-certificates.ts';
import { connectHostile, raftFrame } from './support/hostile-peer.ts';
import { TEST_TIMING, waitFor } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

describe('the demo started with --cluster-secret, --tls-* and --data-dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imdgo-demo-secured-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a node whose peer port wants TLS, and keeps its log in the data directory', async () => {
    const pki = createTestPki();
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const id = `127.0.0.1:${await freePort()}`;
    const dataDir = join(dir, 'data');
    const pem = {
      cert: file('node.crt', pki.node.cert),
      key: file('node.key', pki.node.key),
      ca: file('ca.crt', pki.ca),
    };
    const flags = `--members ${id} --http-port 0 --tls-cert ${pem.cert} --tls-key ${pem.key} --tls-ca ${pem.ca}`;
    const config = readDemoConfig([...flags.split(' '), '--data-dir', dataDir], {
      IMDGO_CLUSTER_SECRET: 'k3Jx9vQ2mZ7pL4wT8rN6bY1c',
    });
    const app = await createDemoApp({ ...config, tuning: TEST_TIMING }, testLogger());
    try {
      await app.init();
      const cluster = app.get(ImdgoCluster);
      await waitFor(() => cluster.localStatus().role === 'leader', 'the single node to lead');
      await app.get(ImdgoStore).set('secured', true);
      expect(existsSync(dataDir) && readdirSync(dataDir).length).toBeGreaterThan(0);
      // Plain TCP to the peer port is closed before anything is read.
      const plain = await connectHostile(id);
      plain.write(raftFrame('127.0.0.1:1', []));
      expect(await plain.closedWithin(2_000)).toBe(true);
    } finally {
      await app.close();
    }
  });
});
