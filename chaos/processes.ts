import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Every process and temporary directory a chaos run creates, so that all of it goes by pid and path: at
 * the normal end, on an error, and on SIGINT, SIGTERM or SIGHUP.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function trackDir(dir: string): string {
  tempDirs.add(dir);
  return dir;
}

/** Keeps a directory that was to be deleted (it holds the evidence of a violation). */
export function keepDir(dir: string): void {
  tempDirs.delete(dir);
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Synchronous, so that it also runs from the 'exit' event: kills what is left (paused ones too). */
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
      console.error(`\n${signal}: stopping every process the chaos run started`);
      process.exit(130);
    });
  }
}
