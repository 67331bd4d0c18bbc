/** One applied change of a key, emitted on every node in log order; `V` is the type of the map's values. */
export interface ChangeEvent<V = unknown> {
  /**
   * `evict`: removed by the memory cap's eviction policy to make room for a write. `reset`: this node's
   * state jumped to a snapshot at `revision` (from the leader, or loaded at a restart), so the changes up
   * to it were not emitted one by one; `map` and `key` are empty. Re-read what you derive from the store.
   */
  readonly type: 'set' | 'delete' | 'expire' | 'evict' | 'reset';
  readonly map: string;
  readonly key: string;
  /** The value after the change (undefined for delete and expire). */
  readonly value: V | undefined;
  readonly previous: V | undefined;
  /** The log index of the change. */
  readonly revision: number;
}
