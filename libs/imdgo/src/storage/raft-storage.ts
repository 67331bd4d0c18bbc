import type { Entry, HardState, Snapshot } from '../raft/types.ts';

export interface StoredState {
  readonly hardState: HardState;
  /** The latest snapshot, or null: the log then starts at index 1. */
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
}

/**
 * Where a node keeps what Raft requires to be durable. `save` must be durable when it resolves (or returns):
 * of a Ready, the driver sends and applies before that only what does not depend on it (ahead-of-disk.ts).
 */
export interface RaftStorage {
  load(): Promise<StoredState>;
  /** `entries` replace every stored entry at their first index and above. */
  save(hardState: HardState | null, entries: readonly Entry[]): void | Promise<void>;
  /**
   * Stores a snapshot durably; entries up to its index may then be dropped. Without `keepFollowingEntries`
   * (a snapshot installed from the leader over a log that disagrees) the entries after it go too.
   */
  saveSnapshot(snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void>;
  close(): Promise<void>;
  /**
   * False for a storage that does not outlive the process (memory mode): snapshots are then saved with an
   * empty image, which nothing reads, instead of encoding the whole state for it.
   */
  readonly keepsSnapshotImages?: boolean;
}
