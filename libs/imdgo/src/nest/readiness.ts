import { setTimeout as delay } from 'node:timers/promises';
import type { RaftNode } from '../driver/raft-node.ts';
import { InvalidArgumentError, NotReadyError } from '../errors.ts';
import { MAX_COORDINATION_VOTERS, type GridNode } from '../grid/index.ts';

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
 * sessions, elections) has a leader known and seats this process (a voter, or a learner beyond the first
 * five voters); this node routes by a table the grid recorded; the grid knows this process (not an earlier
 * incarnation's stale replicas) and it holds its share of replicas, each seated here with a leader known;
 * and a ReadIndex round on the coordination group shows it caught up. So, as with one group, a ready node
 * is one whose restart the grid can take: after a memory-mode restart it is ready only once placement has
 * seated it again everywhere (restarting the next member before would leave groups of two voters, one of
 * them empty). Leaders of partitions held elsewhere are not required: calls for those are routed.
 */
export async function gridNotReadyReason(grid: GridNode, catchUpMs: number): Promise<string | null> {
  const coordination = grid.coordination;
  if (coordination.localStatus().leader === null) return 'no leader known for the coordination group';
  if (!seatedInCoordination(coordination))
    return 'not seated in the coordination group as this process (yet): joining or catching up';
  if (grid.table().epoch === 0)
    return 'no partition table adopted yet (the grid forms, or this node joins it)';
  const placementReason = placementNotReadyReason(grid);
  if (placementReason !== null) return placementReason;
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

/** A voter seat as this process, or (once the group has its five voters) admission as a learner. */
function seatedInCoordination(coordination: RaftNode): boolean {
  if (coordination.isSeatedVoter()) return true;
  const status = coordination.localStatus();
  const voters = status.members.filter((m) => m.voter).length;
  return (
    coordination.discoveryPhase() === null &&
    voters >= MAX_COORDINATION_VOTERS &&
    !status.members.some((m) => m.id === coordination.id && m.voter)
  );
}

/** What placement still owes this process: its registration, its share of replicas, their seats. */
function placementNotReadyReason(grid: GridNode): string | null {
  const meta = grid.coordination.machine.grid;
  const me = meta.member(grid.id);
  if (me === undefined || me.incarnation !== grid.incarnation || me.state === 'joining')
    return 'not registered with the grid as this process yet';
  if (me.staleReplicas) return "the replicas of this member's earlier process are still being replaced";
  const placedHere = grid
    .table()
    .partitions.flatMap((replicas, partition) => (replicas.voters.includes(grid.id) ? [partition] : []));
  if (me.state === 'active' && placedHere.length < meta.replicaShare())
    return `holds ${placedHere.length} replicas, its share is ${meta.replicaShare()} (placement is moving them here)`;
  const unseated = placedHere.filter((partition) => grid.replica(partition)?.isSeatedVoter() !== true);
  if (unseated.length > 0) return `partition(s) ${unseated.join(', ')} not seated here yet`;
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
