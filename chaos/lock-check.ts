/**
 * The lock workload's history and its checks. Times are the orchestrator's (ms since the epoch): a grant
 * happened between its acquire's invocation and its acknowledgement, and the holder stops acting on it when
 * the release is invoked.
 */

/** One acknowledged grant of a lock. `releasedAt`: when its release was invoked. */
export interface LockGrantRecord {
  readonly name: string;
  readonly node: string;
  readonly token: number;
  readonly invokedAt: number;
  readonly ackedAt: number;
  releasedAt: number;
}

/** One write to a lock's fenced register that was answered (accepted or refused). */
export interface FencedWriteRecord {
  readonly name: string;
  readonly token: number;
  readonly invokedAt: number;
  readonly ackedAt: number;
  readonly accepted: boolean;
}

/** When a fault was in progress: a holder's session may have expired then. */
export interface FaultSpan {
  readonly from: number;
  readonly to: number;
  /** A clock jump: a leader's clock may then end a session sooner than its TTL in real time. */
  readonly clock: boolean;
}

export interface LockCheckResult {
  readonly violations: string[];
  /** Overlapping holders where a fault could have ended the earlier holder's session in between. */
  readonly leaseOverlaps: string[];
}

/**
 * (1) Fencing tokens grow in grant order: distinct per name, and a grant acknowledged before another was
 * invoked has the lower token. (2) The fenced register never accepted a token below one it had already
 * accepted (acknowledged before this write was invoked). (3) No two holders of a name overlap between
 * grant acknowledgement and release invocation, unless the session of the lower token's holder may have
 * expired before the higher token was granted (a lease overlap, not a violation): a fault was in progress
 * between the lower token's acquire and the higher token's acknowledgement, and at least a session TTL
 * passed in between (each lock command renews the session), or the fault was a clock jump. The lower
 * token's grant may be acknowledged after the higher one's: its node paused after the log granted it.
 */
export function checkLocks(
  grants: readonly LockGrantRecord[],
  writes: readonly FencedWriteRecord[],
  faults: readonly FaultSpan[],
  sessionTtlMs: number,
): LockCheckResult {
  const violations: string[] = [];
  const leaseOverlaps: string[] = [];
  for (const [name, ofName] of groupBy(grants, (g) => g.name)) {
    const byToken = new Map<number, LockGrantRecord>();
    for (const grant of ofName) {
      const twin = byToken.get(grant.token);
      if (twin)
        violations.push(`${name}: token ${grant.token} granted twice (${twin.node} and ${grant.node})`);
      byToken.set(grant.token, grant);
    }
    const ordered = [...ofName].sort((a, b) => a.ackedAt - b.ackedAt);
    for (const [i, earlier] of ordered.entries()) {
      for (const later of ordered.slice(i + 1)) {
        if (earlier.ackedAt < later.invokedAt && earlier.token > later.token) {
          violations.push(
            `${name}: token ${later.token} (${later.node}) granted after token ${earlier.token} (${earlier.node}) was acknowledged`,
          );
        }
        if (later.ackedAt >= earlier.releasedAt) continue;
        const overlap = `${name}: ${later.node} got token ${later.token} while ${earlier.node} held token ${earlier.token} (${earlier.releasedAt - later.ackedAt} ms)`;
        // The session that must have ended is the one of the lower token, granted first in the log; its
        // grant may be acknowledged last (its node paused between the grant and the answer).
        const [first, second] = earlier.token < later.token ? [earlier, later] : [later, earlier];
        const ttlPassed = second.ackedAt - first.invokedAt >= sessionTtlMs;
        const expiryPossible = faults.some(
          (f) => f.from <= second.ackedAt && f.to >= first.invokedAt && (ttlPassed || f.clock),
        );
        (expiryPossible ? leaseOverlaps : violations).push(overlap);
      }
    }
  }
  for (const [name, ofName] of groupBy(
    writes.filter((w) => w.accepted),
    (w) => w.name,
  )) {
    for (const write of ofName) {
      const before = ofName.filter((w) => w.ackedAt < write.invokedAt && w.token >= write.token);
      if (before.length > 0) {
        violations.push(
          `${name}: the fenced register accepted token ${write.token} after it had accepted ${before[0]!.token}`,
        );
      }
    }
  }
  return { violations, leaseOverlaps };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
