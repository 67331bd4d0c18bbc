/** A key's stored value with the metadata etcd users expect (versions and revisions). */
export interface KvRecord {
  readonly value: unknown;
  /** 1 when created, +1 per write. */
  readonly version: number;
  /** Log index of the write that created the key. */
  readonly createRevision: number;
  /** Log index of the latest write. */
  readonly modRevision: number;
  /** Deadline in ms since the epoch (leader clock), or null for no TTL. */
  readonly expiresAt: number | null;
  /** Bytes accounted against the memory cap: the key's UTF-8 bytes plus the value's encoded bytes. */
  readonly size: number;
}

export function isLive(record: KvRecord | undefined, now: number): record is KvRecord {
  return record !== undefined && (record.expiresAt === null || record.expiresAt > now);
}
