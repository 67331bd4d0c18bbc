import { readFileSync } from 'node:fs';
import type { LoadSummary } from './latency.ts';

/** Cumulative CPU time (user + system, µs) of everything that serves a system under test. */
export type CpuMeter = () => Promise<number>;

/** Linux reports a process's CPU time in clock ticks of 10 ms (USER_HZ 100). */
const US_PER_TICK = 10_000;

/** User + system CPU µs of another process, from /proc; 0 once it has exited. */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesized command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * US_PER_TICK;
  } catch {
    return 0;
  }
}

/** This process's own CPU µs (the client side of etcd and Redis runs). */
export function ownCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * Runs a load and adds the CPU it cost per operation, over the measured window (from the end of the
 * warm-up to the end of the run): a figure that other processes on the machine disturb far less than
 * throughput.
 */
export async function withCpuPerOp(
  meter: CpuMeter,
  warmupMs: number,
  run: () => Promise<LoadSummary>,
): Promise<LoadSummary & { cpuUsPerOp: number | null }> {
  const running = run();
  // Awaited below; this only keeps a failure during the warm-up from counting as unhandled.
  running.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  const from = await meter();
  const summary = await running;
  const to = await meter();
  return { ...summary, cpuUsPerOp: summary.ops > 0 ? (to - from) / summary.ops : null };
}
