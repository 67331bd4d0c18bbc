import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOperations } from './linearizability.ts';
import { appendKvModel } from './models/append-kv.ts';
import { registerModel } from './models/etcd-register.ts';
import { parseJepsenEtcd } from './parsers/jepsen-etcd.ts';
import { parsePorcupineKv } from './parsers/porcupine-kv.ts';

// Published histories with known verdicts live next to the repository, in ../shared, which a user's
// clone does not have.
const repoRoot = new URL('../../../../', import.meta.url);
const testdata = fileURLToPath(new URL('../shared/testdata/', repoRoot));
const available = existsSync(testdata);
if (!available) console.warn(`skipping the shared testdata specs: ${testdata} does not exist`);

const PER_FILE_MS = 5_000;

function verdicts(folder: string): [file: string, verdict: string][] {
  if (!available) return [];
  return readFileSync(`${testdata}${folder}/VERDICTS.txt`, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s+/) as [string, string]);
}

describe.skipIf(!available)('Jepsen etcd histories', () => {
  const expected = verdicts('jepsen-etcd');

  it('has a verdict for every log but 095, which has none published', () => {
    const logs = readdirSync(`${testdata}jepsen-etcd`).filter((file) => file.endsWith('.log'));
    const listed = new Set(expected.map(([file]) => file));
    expect(logs.filter((file) => !listed.has(file))).toEqual(['etcd_095.log']);
  });

  for (const [file, verdict] of expected) {
    it(
      `${file} is ${verdict}`,
      () => {
        const ops = parseJepsenEtcd(readFileSync(`${testdata}jepsen-etcd/${file}`, 'utf8'));
        expect(checkOperations(registerModel, ops).result).toBe(verdict);
      },
      PER_FILE_MS,
    );
  }
});

describe.skipIf(!available)('Porcupine key-value histories', () => {
  for (const [file, verdict] of verdicts('porcupine-kv')) {
    it(
      `${file} is ${verdict}`,
      () => {
        const ops = parsePorcupineKv(readFileSync(`${testdata}porcupine-kv/${file}`, 'utf8'));
        expect(checkOperations(appendKvModel, ops).result).toBe(verdict);
      },
      PER_FILE_MS,
    );
  }
});
