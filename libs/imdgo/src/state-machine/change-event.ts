/** One applied change of a key, emitted on every node in log order. */
export interface ChangeEvent {
  /** `evict`: removed by the memory cap's eviction policy to make room for a write. */
  readonly type: 'set' | 'delete' | 'expire' | 'evict';
  readonly map: string;
  readonly key: string;
  /** The value after the change (undefined for delete and expire). */
  readonly value: unknown;
  readonly previous: unknown;
  /** The log index of the change. */
  readonly revision: number;
}
