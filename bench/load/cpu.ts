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

/** The CPU a run cost per operation, on the client side (the caller's process) and the server side. */
export interface CpuPerOp {
  readonly clientCpuUsPerOp: number | null;
  readonly serverCpuUsPerOp: number | null;
}

/**
 * Runs a load and adds the CPU it cost per operation, client and server apart, over the measured window
 * (from the end of the warm-up to the end of the run): a figure that other processes on the machine disturb
 * far less than throughput.
 */
export async function withCpuPerOp(
  meters: { readonly client: CpuMeter; readonly server: CpuMeter },
  warmupMs: number,
  run: () => Promise<LoadSummary>,
): Promise<LoadSummary & CpuPerOp> {
  const running = run();
  // Awaited below; this only keeps a failure during the warm-up from counting as unhandled.
  running.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  const [clientFrom, serverFrom] = await Promise.all([meters.client(), meters.server()]);
  const summary = await running;
  const [clientTo, serverTo] = await Promise.all([meters.client(), meters.server()]);
  const perOp = (used: number): number | null => (summary.ops > 0 ? used / summary.ops : null);
  return {
    ...summary,
    clientCpuUsPerOp: perOp(clientTo - clientFrom),
    serverCpuUsPerOp: perOp(serverTo - serverFrom),
  };
}
