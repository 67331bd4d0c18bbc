import type { ChangeEvent } from '../state-machine/change-event.ts';

/** What a replica answers a follower asking for a partition's events from a revision. */
export type FeedSlice =
  | { readonly events: readonly ChangeEvent[]; readonly last: number }
  /** Revisions before `oldest` are no longer retained here. */
  | { readonly compacted: number };

/**
 * One partition's change events on this node, whatever their source (this node's replica applying them, or
 * a replica followed over the network): deduplicated by revision, emitted in revision order, the newest
 * `capacity` retained to serve followers and resumption.
 *
 * An entry may emit several events under one revision (evictions before a write), so a source delivers an
 * entry's events together: `accept` takes a batch of whole entries and drops those at or below the newest
 * revision already emitted.
 */
export class PartitionFeed {
  private events: ChangeEvent[] = [];
  /** Revisions up to this one can no longer be replayed from here. */
  private compactedThrough = 0;
  private newest = 0;
  /** The revision this node's own replica is in the middle of emitting (its next event may share it). */
  private openRevision: number | null = null;
  private waiters: (() => void)[] = [];
  private readonly capacity: number;
  private readonly emit: (event: ChangeEvent) => void;

  constructor(capacity: number, emit: (event: ChangeEvent) => void) {
    this.capacity = capacity;
    this.emit = emit;
  }

  /** Newest revision emitted (or skipped by a reset). */
  get revision(): number {
    return this.newest;
  }

  /** One change applied by this node's replica, in log order. */
  applied(event: ChangeEvent): void {
    if (event.revision > this.newest || event.revision === this.openRevision) {
      this.openRevision = event.revision;
      this.publish(event);
    }
  }

  /** This node's replica is new (created or re-created): its first revisions may repeat emitted ones. */
  replicaStarted(): void {
    this.openRevision = null;
  }

  /** Whole entries' events from a followed replica, oldest first. */
  followed(events: readonly ChangeEvent[]): void {
    this.openRevision = null;
    const after = this.newest;
    for (const event of events) if (event.revision > after) this.publish(event);
  }

  /**
   * The source jumped to `revision` (a snapshot here, or a follower found the events compacted everywhere):
   * the changes up to it are not emitted one by one; subscribers get one `reset` event. Ignored when every
   * revision up to it was emitted already.
   */
  reset(revision: number): void {
    this.openRevision = null;
    if (revision <= this.newest) return;
    this.newest = revision;
    this.compactedThrough = revision;
    this.events = [];
    this.emit({ type: 'reset', map: '', key: '', value: undefined, previous: undefined, revision });
    this.wake();
  }

  /**
   * Events from `from` on, at most about `max` (whole entries), for a follower; `compacted` when some before
   * are no longer retained here.
   */
  slice(from: number, max: number): FeedSlice {
    if (from <= this.compactedThrough) return { compacted: this.compactedThrough + 1 };
    const start = this.events.findIndex((event) => event.revision >= from);
    if (start < 0) return { events: [], last: this.newest };
    let end = Math.min(this.events.length, start + Math.max(1, max));
    // Never split an entry's events between two answers.
    while (end < this.events.length && this.events[end]!.revision === this.events[end - 1]!.revision) end++;
    return { events: this.events.slice(start, end), last: this.newest };
  }

  /** Events at `from` and later, for a resuming subscriber; null when some were compacted. */
  since(from: number): ChangeEvent[] | null {
    if (from <= this.compactedThrough) return null;
    return this.events.filter((event) => event.revision >= from);
  }

  /** Drops `waiter` if it is still waiting (a long poll that timed out). */
  cancel(waiter: () => void): void {
    this.waiters = this.waiters.filter((w) => w !== waiter);
  }

  /** Registers a wake-up for the next event; returns it, for `cancel`. */
  onNext(waiter: () => void): () => void {
    this.waiters.push(waiter);
    return waiter;
  }

  private publish(event: ChangeEvent): void {
    this.newest = event.revision;
    if (this.capacity === 0) {
      this.compactedThrough = event.revision;
    } else {
      this.events.push(event);
      if (this.events.length > this.capacity + Math.max(16, this.capacity >> 2)) {
        // Trim in batches rather than on every event.
        const dropped = this.events.splice(0, this.events.length - this.capacity);
        this.compactedThrough = dropped[dropped.length - 1]!.revision;
        // The first kept events may share the last dropped revision: drop them too, whole entries only.
        while (this.events.length > 0 && this.events[0]!.revision === this.compactedThrough)
          this.events.shift();
      }
    }
    this.emit(event);
    this.wake();
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
