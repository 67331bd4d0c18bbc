import { encodedSize } from './commands.ts';

/**
 * A key's stored value with the metadata etcd users expect (versions and revisions). A million keys hold a
 * million of these, so a record carries no field it can do without: `expiresAt` only with a TTL, `size` only
 * where the value is not a string.
 */
export interface KvRecord {
  readonly value: unknown;
  /** 1 when created, +1 per write. */
  readonly version: number;
  /** Log index of the write that created the key. */
  readonly createRevision: number;
  /** Log index of the latest write. */
  readonly modRevision: number;
  /** Deadline in ms since the epoch (leader clock); absent: no TTL. */
  readonly expiresAt?: number;
  /** What recordSize answers, kept where computing it again would mean encoding the value. */
  readonly size?: number;
}

export function kvRecord(
  value: unknown,
  version: number,
  createRevision: number,
  modRevision: number,
  expiresAt: number | null,
  size: number,
): KvRecord {
  // Object literals, one per shape, so that records of a shape share one hidden class.
  if (typeof value === 'string') {
    return expiresAt === null
      ? { value, version, createRevision, modRevision }
      : { value, version, createRevision, modRevision, expiresAt };
  }
  return expiresAt === null
    ? { value, version, createRevision, modRevision, size }
    : { value, version, createRevision, modRevision, expiresAt, size };
}

/** Bytes accounted against the memory cap: the key's UTF-8 bytes plus the value's encoded bytes. */
export function recordSize(key: string, record: KvRecord): number {
  return record.size ?? valueSize(key, record.value);
}

export function valueSize(key: string, value: unknown): number {
  return Buffer.byteLength(key) + encodedSize(value);
}

export function isLive(record: KvRecord | undefined, now: number): record is KvRecord {
  return record !== undefined && (record.expiresAt === undefined || record.expiresAt > now);
}
