import type { FailoverResult, SystemName } from './results.ts';

/** One round of a failover test, as each system implements it. */
export interface FailoverRound {
  /** kill -9 of the leader; returns the monotonic time right after it. */
  killLeader(): number;
  /** When the first write issued at or after `after` succeeded; null if none did within `timeoutMs`. */
  firstSuccessAfter(after: number, timeoutMs: number): Promise<number | null>;
  stopLoad(): Promise<void>;
  /** Starts the killed member again, on its old address. */
  restartKilled(): Promise<void>;
}

export interface FailoverTarget {
  readonly system: SystemName;
  waitHealthy(): Promise<void>;
  /** Starts a closed-loop write load of `concurrency` writers on a member that is not the leader. */
  startRound(concurrency: number): Promise<FailoverRound>;
}

/** Writes run this long before the kill, so the load is in its steady state. */
const STEADY_MS = 1_000;
/** A system that has not accepted a write this long after the kill has failed the round. */
const GIVE_UP_MS = 20_000;

/**
 * Kills the leader under a write load `rounds` times. Each round measures from the kill to the first
 * successful write issued after it (a write issued before could have been committed by the dead leader),
 * then restarts the killed member and waits until the cluster is healthy again.
 */
export async function measureFailover(
  target: FailoverTarget,
  rounds: number,
  concurrency: number,
): Promise<FailoverResult> {
  const samplesMs: (number | null)[] = [];
  const rejoinMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await target.waitHealthy();
    const round = await target.startRound(concurrency);
    await new Promise((resolve) => setTimeout(resolve, STEADY_MS));
    const killedAt = round.killLeader();
    const recoveredAt = await round.firstSuccessAfter(killedAt, GIVE_UP_MS);
    await round.stopLoad();
    const sample = recoveredAt === null ? null : recoveredAt - killedAt;
    samplesMs.push(sample);
    const restarting = Date.now();
    await round.restartKilled();
    await target.waitHealthy();
    rejoinMs.push(Date.now() - restarting);
    console.log(
      `  ${target.system} failover ${i + 1}/${rounds}: ${sample === null ? `no write within ${GIVE_UP_MS} ms` : `${sample.toFixed(0)} ms`}` +
        `, killed member healthy again after ${rejoinMs.at(-1)} ms`,
    );
  }
  // A round without recovery counts as infinitely long: it can still leave the median defined.
  const sorted = samplesMs.map((s) => s ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  return {
    system: target.system,
    concurrency,
    samplesMs,
    rejoinMs,
    medianMs: finite(median(sorted)),
    maxMs: finite(sorted.at(-1)!),
  };
}

function finite(ms: number): number | null {
  return Number.isFinite(ms) ? ms : null;
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
