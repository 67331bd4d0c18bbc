import { encodedSize } from './commands.ts';

/**
 * A key's stored value with the metadata etcd users expect (versions and revisions), as the record table
 * (record-table.ts) keeps the latest written and materializes the others on each read.
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
  /** What recordSize answers: the key's UTF-8 bytes plus the value's encoded bytes. */
  readonly size: number;
}

export function kvRecord(
  value: unknown,
  version: number,
  createRevision: number,
  modRevision: number,
  expiresAt: number | null,
  size: number,
): KvRecord {
  // One object literal per shape, so that records of a shape share one hidden class.
  return expiresAt === null
    ? { value, version, createRevision, modRevision, size }
    : { value, version, createRevision, modRevision, expiresAt, size };
}

export function valueSize(key: string, value: unknown): number {
  return Buffer.byteLength(key) + encodedSize(value);
}

export function isLive(record: KvRecord | undefined, now: number): record is KvRecord {
  return record !== undefined && (record.expiresAt === undefined || record.expiresAt > now);
}
