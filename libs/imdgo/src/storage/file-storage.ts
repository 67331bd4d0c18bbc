import { Logger } from '@nestjs/common';
import { Packr, Unpackr } from 'msgpackr';
import { join } from 'node:path';
import type { Entry, HardState, Snapshot } from '../raft/types.ts';
import { mkdirDurable, nodeFileSystem, type FileSystem, type WritableFile } from './file-system.ts';
import type { RaftStorage, StoredState } from './raft-storage.ts';
import { MAX_LOG_RECORD_BYTES, readLogSegment } from './log-segment.ts';
import { frameRecord, scanRecords } from './record-file.ts';
import { FailStop } from './fail-stop.ts';
import { mustSync } from './must-sync.ts';
import { checkDataDirFormat } from './data-dir-format.ts';
import { StorageCorruptionError } from './storage-errors.ts';

/**
 * A log record: the hard state; entries that replace the stored log from their first index on; or the
 * point from which an installed snapshot discarded the log.
 */
type WalRecord =
  | { readonly hardState: HardState }
  | { readonly entries: readonly Entry[] }
  | { readonly truncateFrom: number };

export interface FileStorageOptions {
  readonly dir: string;
  /** A new segment is started past this size, so compaction can delete whole files. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** fsync each write (default). Off only for benchmarks of the rest of the system. */
  readonly sync?: boolean;
  /** Where the files live; default: node's file system. */
  readonly fs?: FileSystem;
}

const SNAPSHOTS_KEPT = 2;
const packr = new Packr({ useRecords: false, moreTypes: true });
const unpackr = new Unpackr({ useRecords: false, moreTypes: true });

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Highest entry index written into the segment (0 if none): it may be deleted once a snapshot covers it. */
  maxIndex: number;
}

/**
 * Durable storage in `dir`: an append-only write-ahead log in segments (a CRC-32 per record, one fsync per
 * save, so one fsync covers a whole Ready) and snapshot files written atomically (temp file, fsync, rename).
 */
export class FileStorage implements RaftStorage {
  private readonly logger = new Logger('imdgo storage');
  private readonly dir: string;
  private readonly walDir: string;
  private readonly snapDir: string;
  private readonly segmentBytes: number;
  private readonly sync: boolean;
  private readonly fs: FileSystem;
  private segments: Segment[] = [];
  private file: WritableFile | null = null;
  private fileBytes = 0;
  /** The active segment holds a write not yet synced (a commit index alone, see must-sync.ts). */
  private unsynced = false;
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  private snapshotIndex = 0;
  /**
   * The first write or sync that failed. What the files hold is then unknown (after a failed fsync, Linux
   * may drop the data and let a later fsync succeed without it), so every later write fails too.
   */
  private readonly failStop = new FailStop();
  /** Saves and snapshots touch the same open segment: they run one after the other. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: FileStorageOptions) {
    this.dir = options.dir;
    this.walDir = join(options.dir, 'wal');
    this.snapDir = join(options.dir, 'snap');
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.sync = options.sync ?? true;
    this.fs = options.fs ?? nodeFileSystem;
  }

  async load(): Promise<StoredState> {
    // First: the marker must be durable before any log file, and old or foreign data is refused unread.
    await checkDataDirFormat(this.fs, this.dir, 'partitions-1');
    await mkdirDurable(this.fs, this.walDir);
    await mkdirDurable(this.fs, this.snapDir);
    const snapshot = await this.loadSnapshot();
    this.snapshotIndex = snapshot?.index ?? 0;
    const entries: Entry[] = [];
    /** The segment the newest hard state came from, to name in an error. */
    let hardStatePath = this.walDir;
    const names = (await this.fs.readdir(this.walDir)).filter((n) => n.endsWith('.wal')).sort();
    for (const [i, name] of names.entries()) {
      const path = join(this.walDir, name);
      const segment: Segment = { seq: Number.parseInt(name, 10), path, maxIndex: 0 };
      const payloads = await readLogSegment(this.fs, path, i === names.length - 1, this.logger, (file) =>
        this.syncFile(file),
      );
      for (const payload of payloads) {
        const record = unpackr.unpack(payload) as WalRecord;
        if ('hardState' in record) {
          this.hardState = record.hardState;
          hardStatePath = path;
        } else if ('truncateFrom' in record) {
          entries.length = Math.max(
            0,
            Math.min(entries.length, record.truncateFrom - (entries[0]?.index ?? 0)),
          );
        } else if (record.entries.length > 0) {
          replaceFrom(entries, record.entries, this.snapshotIndex);
          segment.maxIndex = Math.max(segment.maxIndex, record.entries[record.entries.length - 1]!.index);
        }
      }
      this.segments.push(segment);
    }
    const live = entries.filter((e) => e.index > this.snapshotIndex);
    if (live.length > 0 && live[0]!.index !== this.snapshotIndex + 1) {
      throw new StorageCorruptionError(
        `log starts at ${live[0]!.index} but the snapshot ends at ${this.snapshotIndex}: entries are missing`,
      );
    }
    const lastIndex = live.length > 0 ? live[live.length - 1]!.index : this.snapshotIndex;
    if (this.hardState.commit > lastIndex) {
      // Committed entries are missing (a snapshot or entries never written): Raft would apply the wrong ones.
      throw new StorageCorruptionError(
        `${hardStatePath}: commit index ${this.hardState.commit} is beyond the last stored index ${lastIndex}; refusing to start with a log that lacks committed entries`,
      );
    }
    await this.openSegment();
    return { hardState: this.hardState, snapshot, entries: live };
  }

  save(hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    if (!hardState && entries.length === 0) return Promise.resolve();
    return this.serialized(() => this.failStop.run(() => this.saveNow(hardState, entries)));
  }

  saveSnapshot(snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void> {
    return this.serialized(() =>
      this.failStop.run(() => this.saveSnapshotNow(snapshot, keepFollowingEntries)),
    );
  }

  close(): Promise<void> {
    return this.serialized(async () => {
      await this.closeFile();
      this.file = null;
    });
  }

  private serialized<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async saveNow(hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    const records: Buffer[] = [];
    const durable = mustSync(this.hardState, hardState, entries.length);
    if (entries.length > 0) records.push(frameRecord(packr.pack({ entries } satisfies WalRecord)));
    if (hardState) {
      this.hardState = hardState;
      records.push(frameRecord(packr.pack({ hardState } satisfies WalRecord)));
    }
    await this.append(Buffer.concat(records), durable);
    if (entries.length > 0) {
      const current = this.segments[this.segments.length - 1]!;
      current.maxIndex = Math.max(current.maxIndex, entries[entries.length - 1]!.index);
    }
    if (this.fileBytes >= this.segmentBytes) await this.openSegment();
  }

  private async saveSnapshotNow(snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void> {
    // An image taken before a newer one was installed: storing it would move the log's start backwards.
    if (snapshot.index < this.snapshotIndex) return;
    if (!keepFollowingEntries)
      await this.append(frameRecord(packr.pack({ truncateFrom: snapshot.index + 1 } satisfies WalRecord)));
    const name = `${String(snapshot.index).padStart(20, '0')}-${snapshot.term}.snap`;
    const temp = join(this.snapDir, `${name}.tmp`);
    const file = await this.fs.open(temp, 'w');
    try {
      await file.write(frameRecord(packr.pack(snapshot)));
      if (this.sync) await file.sync();
    } finally {
      await file.close();
    }
    await this.fs.rename(temp, join(this.snapDir, name));
    await this.syncDir(this.snapDir);
    this.snapshotIndex = snapshot.index;
    // The active segment may hold entries past the snapshot: start a fresh one so older ones can go.
    await this.openSegment();
    // Only the oldest segments go: a later one may hold the record that cut entries of an earlier one.
    let covered = 0;
    while (covered < this.segments.length - 1 && this.segments[covered]!.maxIndex <= snapshot.index)
      covered++;
    for (const segment of this.segments.slice(0, covered)) await this.fs.rm(segment.path);
    this.segments = this.segments.slice(covered);
    const snaps = (await this.fs.readdir(this.snapDir)).filter((n) => n.endsWith('.snap')).sort();
    for (const old of snaps.slice(0, -SNAPSHOTS_KEPT)) await this.fs.rm(join(this.snapDir, old));
  }

  private async loadSnapshot(): Promise<Snapshot | null> {
    const names = (await this.fs.readdir(this.snapDir)).sort();
    for (const name of names) if (name.endsWith('.tmp')) await this.fs.rm(join(this.snapDir, name));
    const newest = names.filter((n) => n.endsWith('.snap')).pop();
    if (!newest) return null;
    const path = join(this.snapDir, newest);
    const scan = scanRecords(await this.fs.readFile(path), MAX_LOG_RECORD_BYTES * 4);
    if (scan.kind !== 'complete' || scan.payloads.length !== 1) {
      throw new StorageCorruptionError(`${path}: snapshot file is damaged`);
    }
    return unpackr.unpack(scan.payloads[0]!) as Snapshot;
  }

  private async append(data: Buffer, durable = true): Promise<void> {
    const file = this.file!;
    await file.write(data);
    if (this.sync && durable) await file.datasync();
    this.unsynced = !durable;
    this.fileBytes += data.length;
  }

  /** A segment is sealed whole: a torn record may only ever be the last one of the last segment. */
  private async closeFile(): Promise<void> {
    if (this.file && this.unsynced && this.sync) await this.file.datasync();
    this.unsynced = false;
    await this.file?.close();
  }

  /** Starts the next segment, which opens with the current hard state so older segments can be deleted. */
  private async openSegment(): Promise<void> {
    await this.closeFile();
    const seq = (this.segments[this.segments.length - 1]?.seq ?? 0) + 1;
    const path = join(this.walDir, `${String(seq).padStart(20, '0')}.wal`);
    this.file = await this.fs.open(path, 'a');
    this.fileBytes = 0;
    this.segments.push({ seq, path, maxIndex: 0 });
    await this.append(frameRecord(packr.pack({ hardState: this.hardState } satisfies WalRecord)));
    await this.syncDir(this.walDir);
  }

  private async syncFile(path: string): Promise<void> {
    if (!this.sync) return;
    const file = await this.fs.open(path, 'a');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
  }

  private async syncDir(dir: string): Promise<void> {
    if (!this.sync) return;
    await this.fs.syncDir(dir);
  }
}

/**
 * Replays "these entries replace the log from their first index" into `log`. A jump forward is allowed only
 * where a snapshot covers the missing entries (a crash before older segments were deleted).
 */
function replaceFrom(log: Entry[], entries: readonly Entry[], snapshotIndex: number): void {
  const first = entries[0]!.index;
  if (log.length > 0) {
    const base = log[0]!.index;
    if (first > base + log.length) {
      if (first > snapshotIndex + 1) throw new StorageCorruptionError(`log gap before index ${first}`);
      log.length = 0;
    } else {
      log.length = Math.max(0, first - base);
    }
  }
  for (const entry of entries) log.push(entry);
}
