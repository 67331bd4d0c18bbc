import { readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { RECORD_HEADER_BYTES } from '../libs/imdgo/src/storage/record-file.ts';

/**
 * The `lose-tail` breakage: cuts the newest half of the records of the newest write-ahead log segment,
 * at a record boundary (so the storage sees a clean, shorter log), as a disk that lied about fsync would
 * after a crash. Only for showing that the chaos checks catch lost acknowledged writes.
 */
export function loseWalTail(dataDir: string): void {
  const walDir = join(dataDir, 'wal');
  let names: string[];
  try {
    names = readdirSync(walDir)
      .filter((n) => n.endsWith('.wal'))
      .sort();
  } catch {
    return; // A first start: nothing written yet.
  }
  const newest = names.at(-1);
  if (newest === undefined) return;
  const path = join(walDir, newest);
  const file = readFileSync(path);
  const ends: number[] = [];
  for (let offset = 0; offset + RECORD_HEADER_BYTES <= file.length;) {
    const length = file.readUInt32BE(offset);
    if (length === 0) break;
    offset += RECORD_HEADER_BYTES + length;
    if (offset > file.length) break;
    ends.push(offset);
  }
  const keep = ends[Math.floor(ends.length / 2) - 1] ?? 0;
  truncateSync(path, keep);
  console.warn(`lose-tail: cut ${path} from ${file.length} to ${keep} bytes (${ends.length} records)`);
}
