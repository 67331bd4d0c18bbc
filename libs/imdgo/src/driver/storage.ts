import type { Entry, HardState } from '../raft/types.ts';

export interface StoredState {
  readonly hardState: HardState;
  readonly entries: readonly Entry[];
}

/**
 * Where a node keeps what Raft requires to be durable. `save` must be durable when it resolves (or returns):
 * the driver sends no message and applies nothing of a Ready before that.
 */
export interface RaftStorage {
  load(): Promise<StoredState>;
  /** `entries` replace every stored entry at their first index and above. */
  save(hardState: HardState | null, entries: readonly Entry[]): void | Promise<void>;
  close(): Promise<void>;
}

/** Keeps state in the process only: a restarted node has lost it (see the README on memory mode). */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  private entries: Entry[] = [];

  async load(): Promise<StoredState> {
    return { hardState: this.hardState, entries: [...this.entries] };
  }

  save(hardState: HardState | null, entries: readonly Entry[]): void {
    if (hardState) this.hardState = hardState;
    if (entries.length > 0) {
      this.entries.length = entries[0]!.index - 1;
      for (const entry of entries) this.entries.push(entry);
    }
  }

  async close(): Promise<void> {}
}
