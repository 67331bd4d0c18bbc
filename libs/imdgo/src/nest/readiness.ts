import { setTimeout as delay } from 'node:timers/promises';
import type { RaftNode } from '../driver/raft-node.ts';
import { InvalidArgumentError, NotReadyError } from '../errors.ts';
import type { GridNode } from '../grid/index.ts';

/** How long `ready()` and `waitForReady: true` wait by default. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

/**
 * Why this node is not ready, or null when it is: it holds a voter seat as this very process, a leader is
 * known, and a ReadIndex round within `catchUpMs` shows it has applied everything the leader had committed.
 * The health indicator's `isReady` and `ready()` both ask this.
 */
export async function notReadyReason(node: RaftNode, catchUpMs: number): Promise<string | null> {
  if (!node.isSeatedVoter()) return 'not a voter (yet): joining or catching up as a learner';
  if (node.localStatus().leader === null) return 'no leader known';
  try {
    await node.linearizableBarrier(catchUpMs);
  } catch (error) {
    return `not caught up: ${(error as Error).message}`;
  }
  return null;
}

/**
 * With `partitions` > 1: why this node is not ready, or null when it is: the coordination group (locks,
 * sessions, elections) has a leader known, so has every partition group this node holds a replica of, and
 * a ReadIndex round on the coordination group shows it caught up. A coordination voter seat is not required
 * (members after the first five are meant to follow it as learners), nor a leader of partitions held elsewhere: calls for those are routed.
 */
export async function gridNotReadyReason(grid: GridNode, catchUpMs: number): Promise<string | null> {
  const coordination = grid.coordination;
  if (coordination.localStatus().leader === null) return 'no leader known for the coordination group';
  const leaderless = grid
    .status()
    .filter((partition) => partition.role !== null && partition.leader === null)
    .map((partition) => partition.partition);
  if (leaderless.length > 0) return `no leader known for partition(s) ${leaderless.join(', ')} held here`;
  try {
    await coordination.linearizableBarrier(catchUpMs);
  } catch (error) {
    return `not caught up: ${(error as Error).message}`;
  }
  return null;
}

/**
 * Resolves once `notReadyReason` finds nothing, asking again every `pollMs`; fails with NotReadyError,
 * naming the last reason, after `timeoutMs`. `node()` is asked each time, so a stop ends the wait.
 */
export async function waitUntilReady(
  node: () => RaftNode,
  timeoutMs: number,
  pollMs: number,
  grid: () => GridNode | null = () => null,
): Promise<void> {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new InvalidArgumentError(`timeoutMs must be a positive integer of milliseconds, got ${timeoutMs}`);
  }
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const catchUpMs = Math.max(1, Math.ceil(deadline - performance.now()));
    const partitioned = grid();
    const reason = partitioned
      ? await gridNotReadyReason(partitioned, catchUpMs)
      : await notReadyReason(node(), catchUpMs);
    if (reason === null) return;
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw new NotReadyError(node().id, timeoutMs, reason);
    await delay(Math.min(pollMs, remaining));
  }
}
