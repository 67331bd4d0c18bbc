import { CompactedError } from '../errors.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';

/** The most recent change events, so a watcher can resume from a past revision (etcd's watch history). */
export class ChangeHistory {
  private readonly events: ChangeEvent[] = [];
  private start = 0;
  /** Revision of the newest event dropped from the buffer: revisions up to it can no longer be replayed. */
  private compactedThrough = 0;
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  add(event: ChangeEvent): void {
    if (this.capacity === 0) {
      this.compactedThrough = event.revision;
      return;
    }
    this.events.push(event);
    if (this.events.length - this.start > this.capacity) {
      this.compactedThrough = this.events[this.start]!.revision;
      this.start++;
      // Reclaim the dropped prefix now and then rather than shifting on every event.
      if (this.start > this.capacity) {
        this.events.splice(0, this.start);
        this.start = 0;
      }
    }
  }

  /** The node's state jumped to `revision` (a snapshot): no revision up to it can be replayed any more. */
  compactThrough(revision: number): void {
    if (revision <= this.compactedThrough) return;
    this.compactedThrough = revision;
    this.events.length = 0;
    this.start = 0;
  }

  /** Events at `fromRevision` and later, oldest first; throws CompactedError if some were dropped. */
  since(fromRevision: number): ChangeEvent[] {
    if (fromRevision <= this.compactedThrough)
      throw new CompactedError(fromRevision, this.compactedThrough + 1);
    const out: ChangeEvent[] = [];
    for (let i = this.start; i < this.events.length; i++) {
      if (this.events[i]!.revision >= fromRevision) out.push(this.events[i]!);
    }
    return out;
  }
}
