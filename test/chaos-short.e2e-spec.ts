import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../chaos/schedule.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE_ENTRY = join(ROOT, 'dist/chaos/node.js');
const RUN_BOUND_MS = 100_000;

/** The newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((file) => statSync(join(dir, file)).mtimeMs)
    .reduce((a, b) => Math.max(a, b), 0);
}

/** The node processes run the build in dist/: rebuild it when a source is newer, so the test never runs stale code. */
function ensureBuilt(): void {
  const sources = ['libs/imdgo/src', 'chaos'].map((d) => newest(join(ROOT, d)));
  if (existsSync(NODE_ENTRY) && statSync(NODE_ENTRY).mtimeMs >= Math.max(...sources)) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 });
}

describe('chaos: real node processes under faults', () => {
  it('keeps a 3-node memory-mode cluster linearizable and its replicas identical through every kind of fault', async () => {
    ensureBuilt();
    const child = spawn(
      process.execPath,
      ['chaos/main.ts', '--duration', '15', '--nodes', '3', '--mode', 'memory'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_BOUND_MS);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);

    expect(code, output).toBe(0);
    expect(output).toMatch(/^linearizability: linearizable /m);
    expect(output).toMatch(/^violations: 0$/m);
    const faults = /^faults: (.*) \(/m.exec(output)?.[1] ?? '';
    for (const kind of FAULT_KINDS) expect(faults, output).toMatch(new RegExp(`${kind} [1-9]`));
    expect(output).toMatch(/^operations: [1-9]\d* ok/m);
  }, 150_000);
});
