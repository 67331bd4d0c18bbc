import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * The share of the machine's CPU time that was busy over `ms`, from /proc/stat (null where there is none).
 * Taken before anything starts, it is other processes' load, which makes every number noisier.
 */
export async function machineBusyShare(ms = 1_000): Promise<number | null> {
  const before = cpuTimes();
  if (before === null) return null;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = cpuTimes()!;
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : null;
}

export function describeMachine(busy: number | null): string {
  const load = busy === null ? '' : `, ${(100 * busy).toFixed(0)}% busy before the benchmark started`;
  const warning = busy !== null && busy > 0.1 ? ' (other processes are running: expect noisy numbers)' : '';
  return `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})${load}${warning}`;
}

/**
 * The machine's CPU times so far, in clock ticks: `steal` is time the hypervisor ran other guests while this
 * one's CPUs had work, which stalls every process at once (null where /proc/stat is missing).
 */
export function cpuTimes(): { total: number; idle: number; steal: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal
    return {
      total: fields.slice(0, 8).reduce((a, b) => a + b, 0),
      idle: fields[3]! + fields[4]!,
      steal: fields[7]!,
    };
  } catch {
    return null;
  }
}
