import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  key: string;
  cert: string;
}

export interface TestPki {
  /** The cluster's CA certificate. */
  ca: string;
  /** A node certificate of the cluster CA for 127.0.0.1 (an IP SAN), client and server use. */
  node: TestCertificate;
  /** Issued by the cluster CA, but naming another host. */
  wrongName: TestCertificate;
  /** For 127.0.0.1 too, but issued by another CA (`rogueCa`): what an outsider could make. */
  rogue: TestCertificate;
  rogueCa: string;
}

/**
 * A throwaway PKI for tests, made with the `openssl` CLI in a temporary directory (EC P-256 keys, valid one
 * day). Everything is read back as PEM strings and the directory removed at once.
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'imdgo-pki-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  const newKey = (file: string): void =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
  const makeCa = (name: string): string => {
    newKey(`${name}.key`);
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    return read(`${name}.crt`);
  };
  let serial = 0;
  const issue = (ca: string, subjectAltName: string): TestCertificate => {
    const name = `leaf-${++serial}`;
    newKey(`${name}.key`);
    openssl('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(
      join(dir, `${name}.ext`),
      `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      String(serial),
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
    return { key: read(`${name}.key`), cert: read(`${name}.crt`) };
  };
  try {
    return {
      ca: makeCa('cluster-ca'),
      node: issue('cluster-ca', 'IP:127.0.0.1'),
      wrongName: issue('cluster-ca', 'DNS:elsewhere.invalid'),
      rogueCa: makeCa('rogue-ca'),
      rogue: issue('rogue-ca', 'IP:127.0.0.1'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
