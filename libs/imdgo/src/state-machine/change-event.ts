/** One applied change of a key, emitted on every node in log order. */
export interface ChangeEvent {
  readonly type: 'set' | 'delete' | 'expire';
  readonly map: string;
  readonly key: string;
  /** The value after the change (undefined for delete and expire). */
  readonly value: unknown;
  readonly previous: unknown;
  /** The log index of the change. */
  readonly revision: number;
}
