import { crc32 } from 'node:zlib';

/** Bytes before each record's payload: its length and its CRC-32, both big-endian u32. */
export const RECORD_HEADER_BYTES = 8;

export function frameRecord(payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.byteLength);
  record.writeUInt32BE(payload.byteLength, 0);
  record.writeUInt32BE(crc32(payload), 4);
  record.set(payload, RECORD_HEADER_BYTES);
  return record;
}

export type RecordScan =
  | { readonly kind: 'complete'; readonly payloads: Buffer[] }
  /** The file ends in a partial record (a crash mid-write): everything before `validBytes` is good. */
  | { readonly kind: 'torn'; readonly payloads: Buffer[]; readonly validBytes: number }
  /** A record that fails its checksum is followed by more data: damage, not a torn tail. */
  | { readonly kind: 'corrupt'; readonly offset: number; readonly reason: string };

/**
 * Splits a file into checksummed records. A failed record at the very end is a torn write, and so is one cut
 * short by zeros that run to the end of the file (a crash can leave a write's new size without its data);
 * a failed one with data after it is corruption, which must stop startup rather than silently lose what
 * follows. No record is empty, so a zero header is never taken for one.
 */
export function scanRecords(file: Buffer, maxRecordBytes: number): RecordScan {
  const payloads: Buffer[] = [];
  const zeroTail = startOfZeroTail(file);
  let offset = 0;
  while (offset < file.length) {
    const remaining = file.length - offset;
    if (remaining < RECORD_HEADER_BYTES) return { kind: 'torn', payloads, validBytes: offset };
    const length = file.readUInt32BE(offset);
    const checksum = file.readUInt32BE(offset + 4);
    if (length === 0 || length > maxRecordBytes) {
      if (zeroTail <= offset + RECORD_HEADER_BYTES) return { kind: 'torn', payloads, validBytes: offset };
      const reason = length === 0 ? 'empty record' : `record length ${length} exceeds ${maxRecordBytes}`;
      return { kind: 'corrupt', offset, reason };
    }
    const end = offset + RECORD_HEADER_BYTES + length;
    if (end > file.length) return { kind: 'torn', payloads, validBytes: offset };
    const payload = file.subarray(offset + RECORD_HEADER_BYTES, end);
    if (crc32(payload) !== checksum) {
      if (end === file.length || zeroTail <= end) return { kind: 'torn', payloads, validBytes: offset };
      return { kind: 'corrupt', offset, reason: 'checksum mismatch' };
    }
    payloads.push(payload);
    offset = end;
  }
  return { kind: 'complete', payloads };
}

/** Where the zeros that end `file` begin (its length if it does not end in a zero). */
function startOfZeroTail(file: Buffer): number {
  let start = file.length;
  while (start > 0 && file[start - 1] === 0) start--;
  return start;
}
