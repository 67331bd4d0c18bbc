import { SeededRandom } from '../libs/imdgo/src/raft/random.ts';

export const FAULT_KINDS = [
  'kill-leader',
  'kill-follower',
  'pause-leader',
  'pause-follower',
  'partition-halves',
  'partition-leader',
  'partition-bridge',
  'member-replace',
  'member-grow-shrink',
  // Every node at once, restarted from its data directory (data mode only).
  'kill-all',
  // One node's wall clock jumps forwards or backwards by seconds to minutes, and back when healed.
  'clock-jump',
  // At the packet level, with every node in its own network namespace (root only): netem delay, jitter,
  // loss, duplication and reordering on one node's link, and a partition by blackhole routes.
  'packet-netem',
  'packet-partition',
] as const;

/** Fault kinds that need the nodes in network namespaces. */
export const PACKET_KINDS: readonly FaultKind[] = ['packet-netem', 'packet-partition'];

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  readonly index: number;
  readonly kind: FaultKind;
  /** How long the fault lasts before it is healed (a killed node stays down this long). */
  readonly holdMs: number;
  /** Quiet time after the fault is healed. */
  readonly gapMs: number;
  /** Numbers in [0, 1) that choose among the candidates found at run time (which follower, which split). */
  readonly draws: readonly number[];
}

/**
 * The faults of a run, drawn from the seed alone: rounds that each take every kind once in a shuffled
 * order (so a short run still covers them all), with hold and gap times scaled to the election timeout.
 * The same seed gives the same sequence; only who leads at each step is decided by the run.
 */
export function* faultPlan(
  seed: number,
  electionTimeoutMs: number,
  kinds: readonly FaultKind[] = FAULT_KINDS,
): Generator<PlannedFault> {
  const random = new SeededRandom(seed);
  let index = 0;
  for (;;) {
    for (const kind of random.shuffle(kinds)) {
      yield {
        index: index++,
        kind,
        // Past the slowest failover, so a pause or a cut-off leader is noticed and replaced: a quiet partition
        // notices after one election timeout (plus a beat) and elects within two more.
        holdMs: Math.round(electionTimeoutMs * (3.5 + random.next() * 10)),
        gapMs: Math.round(electionTimeoutMs * random.next() * 2),
        draws: Array.from({ length: 4 }, () => random.next()),
      };
    }
  }
}

/** Picks one of `items` with a draw from the plan. */
export function pick<T>(items: readonly T[], draw: number): T {
  return items[Math.floor(draw * items.length)]!;
}
