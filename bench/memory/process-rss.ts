import { readFileSync } from 'node:fs';

/** Resident memory of another process in bytes (VmRSS in /proc: anonymous, file-backed and shared pages). */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
