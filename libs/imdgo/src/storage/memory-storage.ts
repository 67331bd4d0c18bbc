import { PackedEntries } from '../raft/packed-entries.ts';
import type { Entry, HardState, Snapshot } from '../raft/types.ts';
import type { RaftStorage, StoredState } from './raft-storage.ts';

/**
 * Keeps state in the process only: a restarted node has lost it (see the README on memory mode). Snapshots
 * come without their image, so `load` serves a node's start, not a reload after a snapshot.
 */
export class MemoryStorage implements RaftStorage {
  readonly keepsSnapshotImages: boolean = false;
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  private snapshot: Snapshot | null = null;
  /** Packed as the log's are: kept until a snapshot, they would otherwise outlive young collections. */
  private readonly entries = new PackedEntries();

  async load(): Promise<StoredState> {
    const entries: Entry[] = [];
    for (let index = this.entries.end - this.entries.length; index < this.entries.end; index++)
      entries.push(this.entries.get(index));
    return { hardState: this.hardState, snapshot: this.snapshot, entries };
  }

  save(hardState: HardState | null, entries: readonly Entry[]): void {
    if (hardState) this.hardState = hardState;
    if (entries.length === 0) return;
    const offset = this.snapshot?.index ?? 0;
    this.entries.truncateFrom(entries[0]!.index);
    if (this.entries.length === 0) this.entries.reset(Math.max(offset + 1, entries[0]!.index));
    // What the snapshot covers is not kept: the stored log starts after it.
    for (const entry of entries) if (entry.index >= this.entries.end) this.entries.push(entry);
  }

  async saveSnapshot(snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void> {
    const offset = this.snapshot?.index ?? 0;
    // An image taken before a newer one was installed: storing it would move the log's start backwards.
    if (snapshot.index < offset) return;
    if (keepFollowingEntries) this.entries.dropThrough(snapshot.index);
    else this.entries.reset(snapshot.index + 1);
    this.snapshot = snapshot;
  }

  async close(): Promise<void> {}
}
