import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Everything the benchmark starts or creates, so that it can all be taken down by pid and deleted: at
 * the normal end, on an error, and on SIGINT, SIGTERM or SIGHUP.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`; resolves once it has exited. */
export async function terminate(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (!isRunning(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(child)) process.kill(child.pid!, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export function makeTempDir(parent: string, prefix: string): string {
  const dir = mkdtempSync(join(parent, prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Synchronous, so that it also runs from the 'exit' event: kills what is left and deletes temp dirs. */
function cleanUp(): void {
  for (const child of children) {
    if (isRunning(child) && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export function installCleanup(): void {
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every process the benchmark started`);
      process.exit(130);
    });
  }
}
