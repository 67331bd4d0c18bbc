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
  private entries: Entry[] = [];

  async load(): Promise<StoredState> {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }

  save(hardState: HardState | null, entries: readonly Entry[]): void {
    if (hardState) this.hardState = hardState;
    if (entries.length === 0) return;
    const offset = this.snapshot?.index ?? 0;
    this.entries.length = Math.max(0, entries[0]!.index - 1 - offset);
    for (const entry of entries) this.entries.push(entry);
  }

  async saveSnapshot(snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void> {
    const offset = this.snapshot?.index ?? 0;
    // An image taken before a newer one was installed: storing it would move the log's start backwards.
    if (snapshot.index < offset) return;
    this.entries = keepFollowingEntries ? this.entries.slice(Math.max(0, snapshot.index - offset)) : [];
    this.snapshot = snapshot;
  }

  async close(): Promise<void> {}
}
