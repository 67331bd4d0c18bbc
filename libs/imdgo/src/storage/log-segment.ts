import type { Logger } from '@nestjs/common';
import type { FileSystem } from './file-system.ts';
import { scanRecords } from './record-file.ts';
import { StorageCorruptionError } from './storage-errors.ts';

/** The largest record a log segment may hold: a bound for a damaged length header. */
export const MAX_LOG_RECORD_BYTES = 256 * 1024 * 1024;

/**
 * The record payloads of one write-ahead log segment. A torn record at the end of the newest segment (a
 * crash during a write) is cut off, and the cut made durable with `syncFile`: writes go on in a new segment,
 * and were the cut lost in a crash this one would look damaged. Damage anywhere else refuses to start,
 * naming the file.
 */
export async function readLogSegment(
  fs: FileSystem,
  path: string,
  newest: boolean,
  logger: Logger,
  syncFile: (path: string) => Promise<void>,
): Promise<readonly Buffer[]> {
  const scan = scanRecords(await fs.readFile(path), MAX_LOG_RECORD_BYTES);
  if (scan.kind === 'corrupt') {
    throw new StorageCorruptionError(
      `${path}: ${scan.reason} at byte ${scan.offset}; refusing to start with a damaged log`,
    );
  }
  if (scan.kind === 'torn') {
    if (!newest) throw new StorageCorruptionError(`${path}: truncated record in a sealed segment`);
    logger.warn(`${path}: dropping a torn record at byte ${scan.validBytes} (crash during a write)`);
    await fs.truncate(path, scan.validBytes);
    await syncFile(path);
  }
  return scan.payloads;
}
