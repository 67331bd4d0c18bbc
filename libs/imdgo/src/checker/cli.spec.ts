import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = 'libs/imdgo/src/checker/cli.ts';
const dir = mkdtempSync(join(tmpdir(), 'imdgo-check-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const written = [
  '{"process":0,"type":"invoke","f":"set","key":"k","value":1}',
  '{"process":0,"type":"ok","f":"set","key":"k"}',
];
const ok = file('ok.jsonl', [
  ...written,
  '{"process":1,"type":"invoke","f":"get","key":"k"}',
  '{"process":1,"type":"ok","f":"get","key":"k","value":1}',
]);
const stale = file('stale.jsonl', [
  ...written,
  '{"process":1,"type":"invoke","f":"get","key":"k"}',
  '{"process":1,"type":"ok","f":"get","key":"k","value":null}',
]);
// Sixteen concurrent sets and a read of a value nobody set: refuting it takes far more than one turn.
const hard = file('hard.jsonl', [
  ...Array.from(
    { length: 16 },
    (_, p) => `{"process":${p},"type":"invoke","f":"set","key":"k","value":${p}}`,
  ),
  '{"process":99,"type":"invoke","f":"get","key":"k"}',
  '{"process":99,"type":"ok","f":"get","key":"k","value":-1}',
]);
const broken = file('broken.jsonl', [...written, '{"process":1,']);

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['node', cli, ...args], { cwd: repoRoot }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

describe('check-history CLI', () => {
  it('prints linearizable and exits 0', async () => {
    expect(await run('--format', 'imdgo', ok)).toMatchObject({ code: 0, stdout: 'linearizable\n' });
  });

  it('prints not linearizable and exits 1', async () => {
    expect(await run('--format', 'imdgo', stale)).toMatchObject({ code: 1, stdout: 'not linearizable\n' });
  });

  it('prints unknown and exits 3 when --timeout-ms runs out', async () => {
    expect(await run('--format', 'imdgo', '--timeout-ms', '0', hard)).toMatchObject({
      code: 3,
      stdout: 'unknown\n',
    });
  });

  it('exits 2 naming the line it cannot parse', async () => {
    const result = await run('--format', 'imdgo', broken);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toContain('line 3: not valid JSON');
  });

  it('exits 2 on bad arguments', async () => {
    for (const args of [
      [ok],
      ['--format', 'xml', ok],
      ['--format', 'imdgo'],
      ['--format', 'imdgo', '--bogus', ok],
    ]) {
      expect(await run(...args)).toMatchObject({ code: 2, stdout: '' });
    }
    expect((await run('--format', 'imdgo', '--timeout-ms', 'soon', ok)).code).toBe(2);
    expect((await run('--format', 'imdgo', join(dir, 'missing.jsonl'))).stderr).toContain('cannot read');
  });
});
