import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki } from '../../../../libs/imdgo/testing/test-certificates.ts';
import { readDemoConfig } from './demo-config.ts';

const MEMBERS = '127.0.0.1:6701,127.0.0.1:6702,127.0.0.1:6703';

describe('readDemoConfig', () => {
  it('reads the command line', () => {
    const config = readDemoConfig(
      ['--id', '127.0.0.1:6702', '--members', MEMBERS, '--http-port', '3002'],
      {},
    );
    expect(config).toEqual({
      nodeId: '127.0.0.1:6702',
      members: ['127.0.0.1:6701', '127.0.0.1:6702', '127.0.0.1:6703'],
      httpHost: '127.0.0.1',
      httpPort: 3002,
      peer: {},
    });
  });

  it('falls back on the environment, and lets flags win over it', () => {
    const env = { IMDGO_MEMBERS: ` ${MEMBERS} `, IMDGO_NODE_ID: '127.0.0.1:6703', HTTP_PORT: '3003' };
    expect(readDemoConfig([], env)).toMatchObject({ nodeId: '127.0.0.1:6703', httpPort: 3003 });
    expect(readDemoConfig(['--http-port', '4000'], env).httpPort).toBe(4000);
  });

  it('leaves the node id to the library when none is given, and defaults the HTTP address', () => {
    expect(readDemoConfig(['--members', 'a:1'], { IMDGO_NODE_ID: '', HTTP_PORT: '' })).toEqual({
      nodeId: undefined,
      members: ['a:1'],
      httpHost: '127.0.0.1',
      httpPort: 3000,
      peer: {},
    });
  });

  it('refuses missing members, bad ports and unknown flags, with the usage', () => {
    expect(() => readDemoConfig([], {})).toThrow(/no members given\nusage:/);
    expect(() => readDemoConfig(['--members', 'a:1', '--http-port', 'http'], {})).toThrow(/"http"\nusage:/);
    expect(() => readDemoConfig(['--members', 'a:1', '--port', '1'], {})).toThrow(/--port.*\nusage:/s);
  });

  it('reads partitioned mode from flags or the environment, and refuses counts that are not whole numbers', () => {
    const members = ['--members', MEMBERS];
    expect(readDemoConfig([...members, '--partitions', '16', '--replicas', '3'], {}).grid).toEqual({
      partitions: 16,
      replicas: 3,
    });
    expect(readDemoConfig(members, { IMDGO_PARTITIONS: '32' }).grid).toEqual({ partitions: 32 });
    expect(readDemoConfig([...members, '--replicas', '5'], { IMDGO_REPLICAS: '2' }).grid).toEqual({
      replicas: 5,
    });
    expect(readDemoConfig(members, { IMDGO_PARTITIONS: '', IMDGO_REPLICAS: '' })).not.toHaveProperty('grid');
    expect(() => readDemoConfig([...members, '--partitions', '0'], {})).toThrow(
      /^--partitions must be a whole number from 1, got "0"\nusage:/,
    );
    expect(() => readDemoConfig(members, { IMDGO_REPLICAS: '2.5' })).toThrow(/^--replicas .* got "2.5"/);
  });

  describe('securing the peer port', () => {
    const pki = createTestPki();
    const dir = mkdtempSync(join(tmpdir(), 'imdgo-demo-config-'));
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const [cert, key, ca] = [
      file('node.crt', pki.node.cert),
      file('node.key', pki.node.key),
      file('ca.crt', pki.ca),
    ];
    const SECRET = 'k3Jx9vQ2mZ7pL4wT8rN6bY1c';
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the secret, the PEM files and the data directory', () => {
      const flags = ['--members', MEMBERS, '--cluster-secret', SECRET, '--data-dir', '/var/lib/imdgo'];
      const config = readDemoConfig([...flags, '--tls-cert', cert, '--tls-key', key, '--tls-ca', ca], {});
      expect(config.peer).toEqual({
        clusterSecret: SECRET,
        tls: { cert: pki.node.cert, key: pki.node.key, ca: pki.ca },
        dataDir: '/var/lib/imdgo',
      });
    });

    it('takes them from the environment too, where a secret stays off the command line', () => {
      const env = {
        IMDGO_MEMBERS: MEMBERS,
        IMDGO_CLUSTER_SECRET: SECRET,
        IMDGO_TLS_CERT: cert,
        IMDGO_TLS_KEY: key,
        IMDGO_TLS_CA: ca,
        IMDGO_DATA_DIR: 'data',
      };
      expect(readDemoConfig([], env).peer).toEqual({
        clusterSecret: SECRET,
        tls: { cert: pki.node.cert, key: pki.node.key, ca: pki.ca },
        dataDir: 'data',
      });
    });

    it('refuses a short secret without showing it, partial TLS, unreadable files and an empty data dir', () => {
      const members = ['--members', MEMBERS];
      const failure = (argv: string[]): string => {
        try {
          readDemoConfig([...members, ...argv], {});
        } catch (error) {
          return (error as Error).message;
        }
        return 'accepted';
      };
      const short = failure(['--cluster-secret', 'hunter2']);
      expect(short).toMatch(/^the cluster secret must have at least 16 characters \(it has 7\)\nusage:/);
      expect(short).not.toContain('hunter2');
      expect(failure(['--tls-cert', cert])).toMatch(/^TLS needs .*; missing --tls-key, --tls-ca\nusage:/);
      expect(failure(['--tls-cert', cert, '--tls-key', key, '--tls-ca', join(dir, 'absent.crt')])).toMatch(
        /^cannot read --tls-ca ".*absent\.crt": ENOENT/,
      );
      expect(failure(['--data-dir', ''])).toMatch(/^--data-dir needs a directory\nusage:/);
    });
  });
});
