import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every process and temporary directory a harness (benchmark, chaos run) creates, so that all of it goes
 * by pid and path: at the normal end, on an error, and on SIGINT, SIGTERM or SIGHUP.
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
  return trackDir(mkdtempSync(join(parent, prefix)));
}

/** Deletes `dir` at the end unless kept. */
export function trackDir(dir: string): string {
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Keeps a directory that was to be deleted (it holds the evidence of a failure). */
export function keepDir(dir: string): void {
  tempDirs.delete(dir);
}

/** Synchronous, so that it also runs from the 'exit' event: kills what is left (paused ones too). */
function cleanUp(): void {
  for (const child of children) {
    if (isRunning(child) && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** `harness` names who started the processes, in the message printed on a signal. */
export function installCleanup(harness: string): void {
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every process the ${harness} started`);
      process.exit(130);
    });
  }
}
