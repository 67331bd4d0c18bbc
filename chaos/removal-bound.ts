/** What a partitioned drain may take at least, however few partitions: a handful of moves under faults. */
const DRAIN_FLOOR_MS = 30_000;

/**
 * How long one removeMember may take before the membership change counts as failed. With one group it is a
 * configuration change: a few request timeouts. With partitions it drains the member, moving each of its
 * replicas (up to one per partition) and the leaderships it holds, each move a catch-up plus two
 * configuration changes that faults may slow: a few request timeouts per partition on top of a floor.
 */
export function removalTimeoutMs(partitions: number, requestTimeoutMs: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`partitions must be a positive integer, got ${partitions}`);
  }
  if (partitions === 1) return requestTimeoutMs * 4;
  return DRAIN_FLOOR_MS + partitions * requestTimeoutMs * 2;
}
