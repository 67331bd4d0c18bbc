import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((file) => statSync(join(dir, file)).mtimeMs)
    .reduce((a, b) => Math.max(a, b), 0);
}

/**
 * Processes under test run the build in dist/: rebuilds it when a file under `sourceDirs` (relative to the
 * project root) is newer than `entry`, so a test never runs stale code. `npm test` builds first anyway.
 */
export function ensureBuilt(entry: string, sourceDirs: readonly string[]): void {
  const built = join(ROOT, entry);
  const sources = sourceDirs.map((d) => newest(join(ROOT, d)));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources)) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
}
