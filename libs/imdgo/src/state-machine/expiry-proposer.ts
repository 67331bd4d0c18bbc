/** A key whose TTL passed, for the leader to propose its expiry. */
export interface DueExpiry {
  readonly map: string;
  readonly key: string;
  readonly revision: number;
}

/**
 * The leader's memory of the expire commands it proposed, so that it does not propose them again every tick
 * while they commit. Local to the leader and kept apart from the replicated state: the expiry index itself
 * is changed only by applies, so every node orders (and evicts) keys alike.
 */
export class ExpiryProposer {
  /** By map and key: the revision proposed for expiry, and when (leader clock). */
  private readonly proposed = new Map<string, Map<string, { revision: number; at: number }>>();
  private readonly retryAfterMs: number;

  /** A proposal not applied after `retryAfterMs` (lost with a leader change or refused) is made again. */
  constructor(retryAfterMs: number) {
    this.retryAfterMs = retryAfterMs;
  }

  /** Up to `limit` of the `candidates` (due keys) not already being expired; `now` is the leader's clock. */
  next(candidates: Iterable<DueExpiry>, now: number, limit: number): DueExpiry[] {
    const due: DueExpiry[] = [];
    for (const candidate of candidates) {
      if (due.length >= limit) break;
      const earlier = this.proposed.get(candidate.map)?.get(candidate.key);
      if (earlier?.revision === candidate.revision && now - earlier.at < this.retryAfterMs) continue;
      due.push(candidate);
    }
    this.forgetOlderThan(now - this.retryAfterMs);
    for (const { map, key, revision } of due) {
      let keys = this.proposed.get(map);
      if (!keys) {
        keys = new Map();
        this.proposed.set(map, keys);
      }
      keys.set(key, { revision, at: now });
    }
    return due;
  }

  /** Bounds the memory to the proposals of the last `retryAfterMs`. */
  private forgetOlderThan(time: number): void {
    for (const [map, keys] of this.proposed) {
      for (const [key, { at }] of keys) if (at <= time) keys.delete(key);
      if (keys.size === 0) this.proposed.delete(map);
    }
  }
}
