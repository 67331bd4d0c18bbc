import { CompactedError } from '../errors.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';

const TYPES: readonly ChangeEvent['type'][] = ['set', 'delete', 'expire', 'evict', 'reset'];

/**
 * The most recent change events, so a watcher can resume from a past revision (etcd's watch history).
 * Kept as a ring of columns rather than the events themselves: an event object per write, held for
 * `capacity` more writes, lived through young-generation collections on every node, each copying and
 * scanning it, and their pauses were longer for it (`node bench/imdgo/write-allocation.ts --survived`).
 * The strings and values it names are kept either way. Replay builds the events anew.
 */
export class ChangeHistory {
  private types: number[] = [];
  private revisions: number[] = [];
  private maps: string[] = [];
  private keys: string[] = [];
  private values: unknown[] = [];
  private previous: unknown[] = [];
  /** The slot the next event takes once the columns have grown to `capacity`; the oldest event's slot. */
  private next = 0;
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
    const type = TYPES.indexOf(event.type);
    // Grown by push up to capacity, so a large configured history costs nothing until it fills.
    if (this.revisions.length < this.capacity) {
      this.types.push(type);
      this.revisions.push(event.revision);
      this.maps.push(event.map);
      this.keys.push(event.key);
      this.values.push(event.value);
      this.previous.push(event.previous);
      return;
    }
    const at = this.next;
    this.compactedThrough = this.revisions[at]!;
    this.types[at] = type;
    this.revisions[at] = event.revision;
    this.maps[at] = event.map;
    this.keys[at] = event.key;
    this.values[at] = event.value;
    this.previous[at] = event.previous;
    this.next = at + 1 === this.capacity ? 0 : at + 1;
  }

  /** The node's state jumped to `revision` (a snapshot): no revision up to it can be replayed any more. */
  compactThrough(revision: number): void {
    if (revision <= this.compactedThrough) return;
    this.compactedThrough = revision;
    this.types = [];
    this.revisions = [];
    this.maps = [];
    this.keys = [];
    this.values = [];
    this.previous = [];
    this.next = 0;
  }

  /** Events at `fromRevision` and later, oldest first; throws CompactedError if some were dropped. */
  since(fromRevision: number): ChangeEvent[] {
    if (fromRevision <= this.compactedThrough)
      throw new CompactedError(fromRevision, this.compactedThrough + 1);
    const out: ChangeEvent[] = [];
    const count = this.revisions.length;
    for (let n = 0; n < count; n++) {
      const i = (this.next + n) % count;
      const revision = this.revisions[i]!;
      if (revision < fromRevision) continue;
      out.push({
        type: TYPES[this.types[i]!]!,
        map: this.maps[i]!,
        key: this.keys[i]!,
        value: this.values[i],
        previous: this.previous[i],
        revision,
      });
    }
    return out;
  }
}
