import type { FailoverResult, FaultKind, SystemName } from './results.ts';

/** One round of a failover test, as each system implements it. */
export interface FailoverRound {
  /**
   * `kill`: kill -9 of the leader (its connections close at once); `stop`: SIGSTOP (it stays silent and no
   * connection closes); `cut`: every link of the leader drops what it carries, and no connection closes.
   * Resolves with the monotonic time right after the signal, or right before the cut is asked for.
   */
  fault(kind: FaultKind): Promise<number>;
  /** Per writer, when its first write issued at or after `after` succeeded; null: none within `timeoutMs`. */
  firstSuccessesAfter(after: number, timeoutMs: number): Promise<(number | null)[]>;
  stopLoad(): Promise<void>;
  /** Brings the faulted member back: restarts a killed one, SIGCONT to a stopped one, heals a cut. */
  recover(): Promise<void>;
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
/** Every fault asked for, one after the other, `rounds` times each. */
export async function measureFailovers(
  target: FailoverTarget,
  rounds: number,
  concurrency: number,
  faults: readonly FaultKind[],
): Promise<FailoverResult[]> {
  const results: FailoverResult[] = [];
  if (rounds === 0) return results;
  for (const fault of faults) results.push(await measureFailover(target, rounds, concurrency, fault));
  return results;
}

export async function measureFailover(
  target: FailoverTarget,
  rounds: number,
  concurrency: number,
  fault: FaultKind,
): Promise<FailoverResult> {
  const samplesMs: (number | null)[] = [];
  const allWritersMs: (number | null)[] = [];
  const rejoinMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await target.waitHealthy();
    const round = await target.startRound(concurrency);
    await new Promise((resolve) => setTimeout(resolve, STEADY_MS));
    const faultAt = await round.fault(fault);
    const perWriter = (await round.firstSuccessesAfter(faultAt, GIVE_UP_MS)).map((t) =>
      t === null ? Number.POSITIVE_INFINITY : t - faultAt,
    );
    await round.stopLoad();
    // Overall: the first writer to succeed; every writer: the last one to.
    samplesMs.push(finite(Math.min(...perWriter)));
    allWritersMs.push(finite(Math.max(...perWriter)));
    const recovering = Date.now();
    await round.recover();
    await target.waitHealthy();
    rejoinMs.push(Date.now() - recovering);
    console.log(
      `  ${target.system} failover (${fault}) ${i + 1}/${rounds}: first write ${msOrNone(samplesMs.at(-1)!)}, ` +
        `every writer ${msOrNone(allWritersMs.at(-1)!)}, member healthy again after ${rejoinMs.at(-1)} ms`,
    );
  }
  return {
    system: target.system,
    fault,
    concurrency,
    samplesMs,
    allWritersMs,
    rejoinMs,
    medianMs: finite(median(sortedWithMissing(samplesMs))),
    maxMs: finite(sortedWithMissing(samplesMs).at(-1)!),
    allWritersMedianMs: finite(median(sortedWithMissing(allWritersMs))),
    allWritersMaxMs: finite(sortedWithMissing(allWritersMs).at(-1)!),
  };
}

/** A round without recovery counts as infinitely long: it can still leave the median defined. */
function sortedWithMissing(samples: readonly (number | null)[]): number[] {
  return samples.map((s) => s ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
}

function msOrNone(ms: number | null): string {
  return ms === null ? `none within ${GIVE_UP_MS} ms` : `${ms.toFixed(0)} ms`;
}

function finite(ms: number): number | null {
  return Number.isFinite(ms) ? ms : null;
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
