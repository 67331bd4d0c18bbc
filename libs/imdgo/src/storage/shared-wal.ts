import { Logger } from '@nestjs/common';
import { Packr, Unpackr } from 'msgpackr';
import { join } from 'node:path';
import type { Entry, HardState, Snapshot } from '../raft/types.ts';
import { earlierWriteFailed, FailStop } from './fail-stop.ts';
import { mustSync } from './must-sync.ts';
import { checkDataDirFormat } from './data-dir-format.ts';
import { StorageCorruptionError } from './storage-errors.ts';
import { MAX_LOG_RECORD_BYTES, readLogSegment } from './log-segment.ts';
import { mkdirDurable, nodeFileSystem, type FileSystem, type WritableFile } from './file-system.ts';
import type { RaftStorage, StoredState } from './raft-storage.ts';
import { frameRecord, scanRecords } from './record-file.ts';

/**
 * A record of the node's log, tagged with its group `g`: a hard state; entries that replace the group's log
 * from their first index on; the point from which an installed snapshot discarded the group's log; the group
 * released (destroyed here: its entries go, its hard state stays). A segment opens with every group's hard
 * state (`heads`), so that older segments can be deleted.
 */
type NodeWalRecord =
  | { readonly g: number; readonly hs: HardState }
  | { readonly g: number; readonly e: readonly Entry[] }
  | { readonly g: number; readonly t: number }
  | { readonly g: number; readonly released: true }
  | { readonly heads: readonly (readonly [number, HardState])[] };

export interface SharedWalOptions {
  /** The node's data directory: the log lives in `node-wal/log`, each group's snapshots in `node-wal/snap/group-N`. */
  readonly dataDir: string;
  /** A new segment is started past this size, so that compaction can delete whole files. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** fsync each batch (default). Off only for benchmarks of the rest of the system. */
  readonly sync?: boolean;
  readonly fs?: FileSystem;
  /**
   * Runs a batch's write on a later turn, after every group that persists in this one has appended
   * (default setImmediate; the simulator passes its virtual one).
   */
  readonly defer?: (run: () => void) => void;
}

const SNAPSHOTS_KEPT = 2;
const ZERO_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };
const packr = new Packr({ useRecords: false, moreTypes: true });
const unpackr = new Unpackr({ useRecords: false, moreTypes: true });

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Per group, the highest entry index written into the segment: it may go once each group's snapshot covers it. */
  readonly claims: Map<number, number>;
}

/** What the node's log holds of one group, kept in step with what was appended. */
interface GroupState {
  hardState: HardState | null;
  /**
   * The hard state of the group's last record written to the log, which a new segment opens with: a newer
   * one may still wait in the next batch with the entries it commits.
   */
  writtenHardState: HardState | null;
  snapshotIndex: number;
  /** The entries after the snapshot: carried into a new segment when an old one must go. */
  live: Entry[];
  /** Whether a RaftStorage view of the group is open. */
  attached: boolean;
  /** What the group's view last failed on: its later operations fail too. */
  failure: Error | null;
  /** The group's snapshots and truncations run one after the other. */
  tail: Promise<unknown>;
}

interface PendingRecord {
  readonly group: number | null;
  readonly bytes: Buffer;
  /** Highest entry index the record writes (0 if none). */
  readonly maxIndex: number;
  /** The group's hard state once the record is written. */
  readonly hardState?: HardState;
  /** A commit index alone (must-sync.ts): its save resolves once written, without an fsync of its own. */
  readonly unsynced?: true;
}

interface Batch {
  readonly records: PendingRecord[];
  readonly waiters: { resolve: () => void; reject: (error: Error) => void }[];
}

/**
 * One write-ahead log for every Raft group of a node (issue 14): records are tagged by group, and the appends
 * of every group that persist in the same event-loop turn are written together and made durable by one
 * fsync (group commit); each group's save resolves only after it. Snapshots stay per group (rare, and written
 * atomically: temp file, fsync, rename). Segments roll past `segmentBytes`; an old one is deleted once every
 * group's snapshot covers it, and groups still holding entries in it (an idle group) have their live entries
 * carried into the new segment, so that no group pins the log.
 */
export class SharedWal {
  private readonly logger = new Logger('imdgo storage');
  private readonly dataDir: string;
  private readonly logDir: string;
  private readonly snapDir: string;
  private readonly segmentBytes: number;
  private readonly sync: boolean;
  private readonly fs: FileSystem;
  private readonly defer: (run: () => void) => void;
  private readonly groups = new Map<number, GroupState>();
  private segments: Segment[] = [];
  private file: WritableFile | null = null;
  private fileBytes = 0;
  private loading: Promise<void> | null = null;
  private batch: Batch = { records: [], waiters: [] };
  private flushScheduled = false;
  /** Writes, rolls and deletions of the log, one after the other. */
  private logTail: Promise<unknown> = Promise.resolve();
  /**
   * The first write or sync of the log that failed. What the files hold is then unknown (after a failed
   * fsync, Linux may drop the data and let a later fsync succeed without it), so every later write fails too.
   */
  private readonly failStop = new FailStop();
  /** fsyncs of the log, for tests and benchmarks. */
  private syncs = 0;
  /** The active segment holds a write not yet synced (commit indexes alone, see must-sync.ts). */
  private unsynced = false;

  constructor(options: SharedWalOptions) {
    this.dataDir = options.dataDir;
    this.logDir = join(options.dataDir, 'node-wal', 'log');
    this.snapDir = join(options.dataDir, 'node-wal', 'snap');
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.sync = options.sync ?? true;
    this.fs = options.fs ?? nodeFileSystem;
    this.defer = options.defer ?? ((run) => void setImmediate(run));
  }

  /** The storage of group `group`, a view over this log. */
  storageFor(group: number): RaftStorage {
    if (!Number.isSafeInteger(group) || group < 0) throw new Error(`invalid group id ${group}`);
    return new SharedWalGroupStorage(this, group);
  }

  /** fsyncs of log segments so far. */
  get logSyncs(): number {
    return this.syncs;
  }

  /**
   * Forgets a group destroyed here (its replica moved away): its entries are dropped and no longer pin old
   * segments. Its hard state stays (a vote must never be forgotten), and so do its snapshot files: recreated,
   * the group starts from them and catches up.
   */
  async release(group: number): Promise<void> {
    await this.loaded();
    const state = this.groups.get(group);
    if (!state) return;
    if (state.attached) throw new Error(`group ${group} is still open: stop it before releasing its storage`);
    await this.open();
    if (state.hardState)
      state.hardState = { ...state.hardState, commit: Math.min(state.hardState.commit, state.snapshotIndex) };
    await this.append([this.record(group, { g: group, released: true }, 0, state.hardState ?? undefined)]);
    // Only now: a segment rolled before the record was written carries the entries the hard state commits.
    state.live = [];
    await this.serialized(async () => {
      for (const segment of this.segments) segment.claims.delete(group);
      await this.deleteCovered();
    });
    await this.closeIfUnused();
  }

  // ---- for the group views ----

  async attach(group: number): Promise<StoredState> {
    await this.loaded();
    const state = this.state(group);
    if (state.attached) throw new Error(`group ${group} is already open on this node's log`);
    state.attached = true;
    try {
      await this.open();
    } catch (error) {
      state.attached = false;
      throw error;
    }
    // Read when the group opens, not with the log: a group no longer placed here never holds memory for it.
    const snapshot =
      state.snapshotIndex > 0 ? await this.loadSnapshot(join(this.snapDir, `group-${group}`)) : null;
    if (snapshot && snapshot.index !== state.snapshotIndex) {
      throw new StorageCorruptionError(
        `${join(this.snapDir, `group-${group}`)}: the newest snapshot file names index ${state.snapshotIndex} but holds ${snapshot.index}`,
      );
    }
    return { hardState: state.hardState ?? ZERO_HARD_STATE, snapshot, entries: [...state.live] };
  }

  async detach(group: number): Promise<void> {
    const state = this.groups.get(group);
    if (!state?.attached) return;
    await state.tail;
    state.attached = false;
    await this.closeIfUnused();
  }

  save(group: number, hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    const state = this.state(group);
    const failed = this.failed(state);
    if (failed) return Promise.reject(failed);
    const records: PendingRecord[] = [];
    const fresh = entries.filter((e) => e.index > state.snapshotIndex);
    if (fresh.length > 0) {
      const kept = Math.max(0, fresh[0]!.index - state.snapshotIndex - 1);
      if (kept > state.live.length) {
        return Promise.reject(
          new Error(
            `group ${group}: entries from ${fresh[0]!.index} leave a gap after ${state.snapshotIndex + state.live.length}`,
          ),
        );
      }
      state.live.length = kept;
      for (const entry of fresh) state.live.push(entry);
      records.push(this.record(group, { g: group, e: fresh }, fresh[fresh.length - 1]!.index));
    }
    if (hardState) {
      const durable = mustSync(state.hardState, hardState, fresh.length);
      state.hardState = hardState;
      const record = this.record(group, { g: group, hs: hardState }, 0, hardState);
      records.push(durable ? record : { ...record, unsynced: true });
    }
    if (records.length === 0) return Promise.resolve();
    return this.append(records);
  }

  saveSnapshot(group: number, snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void> {
    const state = this.state(group);
    const run = state.tail.then(async () => {
      const failed = this.failed(state);
      if (failed) throw failed;
      try {
        await this.saveSnapshotNow(group, state, snapshot, keepFollowingEntries);
      } catch (error) {
        state.failure ??= error as Error;
        throw error;
      }
    });
    state.tail = run.catch(() => undefined);
    return run;
  }

  // ---- loading ----

  private loaded(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  /** Reads the whole log once and each group's newest snapshot index; each group takes its part when it opens. */
  private async load(): Promise<void> {
    // First: the marker must be durable before any log file, and old or foreign data is refused unread.
    await checkDataDirFormat(this.fs, this.dataDir, 'partitioned');
    await mkdirDurable(this.fs, this.logDir);
    await mkdirDurable(this.fs, this.snapDir);
    for (const name of await this.fs.readdir(this.snapDir)) {
      const group = groupOfDir(name);
      if (group === null) continue;
      this.state(group).snapshotIndex = await this.newestSnapshotIndex(join(this.snapDir, name));
    }
    /** The segment each group's newest hard state came from, to name in an error. */
    const hardStatePaths = new Map<number, string>();
    const logs = new Map<number, Entry[]>();
    const names = (await this.fs.readdir(this.logDir)).filter((n) => n.endsWith('.wal')).sort();
    for (const [i, name] of names.entries()) {
      const path = join(this.logDir, name);
      const segment: Segment = { seq: Number.parseInt(name, 10), path, claims: new Map() };
      const payloads = await readLogSegment(this.fs, path, i === names.length - 1, this.logger, (file) =>
        this.syncFile(file),
      );
      for (const payload of payloads) {
        const record = unpackr.unpack(payload) as NodeWalRecord;
        if ('heads' in record) {
          for (const [group, hardState] of record.heads) {
            this.state(group).hardState = hardState;
            hardStatePaths.set(group, path);
          }
          continue;
        }
        const state = this.state(record.g);
        const log = logs.get(record.g) ?? [];
        logs.set(record.g, log);
        if ('hs' in record) {
          state.hardState = record.hs;
          hardStatePaths.set(record.g, path);
        } else if ('t' in record) {
          log.length = Math.max(0, Math.min(log.length, record.t - (log[0]?.index ?? 0)));
        } else if ('released' in record) {
          log.length = 0;
          if (state.hardState)
            state.hardState = {
              ...state.hardState,
              commit: Math.min(state.hardState.commit, state.snapshotIndex),
            };
        } else if (record.e.length > 0) {
          replaceFrom(log, record.e, state.snapshotIndex, path);
          const last = record.e[record.e.length - 1]!.index;
          segment.claims.set(record.g, Math.max(segment.claims.get(record.g) ?? 0, last));
        }
      }
      this.segments.push(segment);
    }
    for (const [group, state] of this.groups) {
      const live = (logs.get(group) ?? []).filter((e) => e.index > state.snapshotIndex);
      const where = hardStatePaths.get(group) ?? this.logDir;
      if (live.length > 0 && live[0]!.index !== state.snapshotIndex + 1) {
        throw new StorageCorruptionError(
          `${where}: group ${group}'s log starts at ${live[0]!.index} but its snapshot ends at ${state.snapshotIndex}: entries are missing`,
        );
      }
      const lastIndex = live.length > 0 ? live[live.length - 1]!.index : state.snapshotIndex;
      const commit = state.hardState?.commit ?? 0;
      if (commit > lastIndex) {
        // Committed entries are missing (a snapshot or entries never written): Raft would apply the wrong ones.
        throw new StorageCorruptionError(
          `${where}: group ${group}'s commit index ${commit} is beyond its last stored index ${lastIndex}; refusing to start with a log that lacks committed entries`,
        );
      }
      state.live = live;
      state.writtenHardState = state.hardState;
    }
  }

  /** The index of the newest snapshot in `dir`, from its name (0 if none); drops unfinished ones. */
  private async newestSnapshotIndex(dir: string): Promise<number> {
    const names = (await this.fs.readdir(dir)).sort();
    for (const name of names) if (name.endsWith('.tmp')) await this.fs.rm(join(dir, name));
    const newest = names.filter((n) => n.endsWith('.snap')).pop();
    return newest ? Number.parseInt(newest, 10) : 0;
  }

  private async loadSnapshot(dir: string): Promise<Snapshot | null> {
    const names = (await this.fs.readdir(dir)).sort();
    const newest = names.filter((n) => n.endsWith('.snap')).pop();
    if (!newest) return null;
    const path = join(dir, newest);
    const scan = scanRecords(await this.fs.readFile(path), MAX_LOG_RECORD_BYTES * 4);
    if (scan.kind !== 'complete' || scan.payloads.length !== 1) {
      throw new StorageCorruptionError(`${path}: snapshot file is damaged`);
    }
    return unpackr.unpack(scan.payloads[0]!) as Snapshot;
  }

  // ---- writing ----

  private state(group: number): GroupState {
    let state = this.groups.get(group);
    if (!state) {
      state = {
        hardState: null,
        writtenHardState: null,
        snapshotIndex: 0,
        live: [],
        attached: false,
        failure: null,
        tail: Promise.resolve(),
      };
      this.groups.set(group, state);
    }
    return state;
  }

  private failed(state: GroupState): Error | null {
    const failure = this.failStop.error ?? state.failure;
    return failure ? earlierWriteFailed(failure) : null;
  }

  private record(
    group: number | null,
    record: NodeWalRecord,
    maxIndex = 0,
    hardState?: HardState,
  ): PendingRecord {
    return { group, bytes: frameRecord(packr.pack(record)), maxIndex, ...(hardState ? { hardState } : {}) };
  }

  /**
   * Joins the next batch; resolves once it is durable. The batch is taken when the log is free, no earlier
   * than the turn after the first append: every group persisting in this turn joins it, and so does every
   * append made while the previous batch was being synced.
   */
  private append(records: PendingRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.records.push(...records);
      this.batch.waiters.push({ resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      this.defer(() => {
        let taken: Batch | null = null;
        const take = (): Batch => {
          taken = this.batch;
          this.batch = { records: [], waiters: [] };
          this.flushScheduled = false;
          return taken;
        };
        void this.serialized(() => this.writeBatch(take())).then(
          () => taken!.waiters.forEach((w) => w.resolve()),
          (error: unknown) => (taken ?? take()).waiters.forEach((w) => w.reject(error as Error)),
        );
      });
    });
  }

  /** Runs `operation` after the log's earlier ones; unless `failStop` is off, not after a failed one. */
  private serialized<T>(operation: () => Promise<T>, failStop = true): Promise<T> {
    const result = this.logTail.then(() => (failStop ? this.failStop.run(operation) : operation()));
    this.logTail = result.catch(() => undefined);
    return result;
  }

  private async writeBatch(batch: Batch): Promise<void> {
    if (!this.file) await this.openSegment();
    await this.write(batch.records);
    if (this.fileBytes >= this.segmentBytes) await this.roll();
    // The last group closed while this batch waited: the file is not left open.
    if (![...this.groups.values()].some((s) => s.attached)) {
      await this.closeFile();
      this.file = null;
    }
  }

  /** Writes records at the end of the active segment and makes them durable with one fsync. */
  private async write(records: readonly PendingRecord[]): Promise<void> {
    const data = Buffer.concat(records.map((r) => r.bytes));
    await this.file!.write(data);
    this.unsynced = records.every((record) => record.unsynced);
    if (this.sync && !this.unsynced) {
      this.syncs++;
      await this.file!.datasync();
    }
    this.fileBytes += data.length;
    const claims = this.segments[this.segments.length - 1]!.claims;
    for (const { group, maxIndex, hardState } of records) {
      if (group === null) continue;
      if (maxIndex > 0) claims.set(group, Math.max(claims.get(group) ?? 0, maxIndex));
      if (hardState) this.groups.get(group)!.writtenHardState = hardState;
    }
  }

  /** Opens the log's file once loaded, or again after every group had closed it. */
  private open(): Promise<void> {
    return this.serialized(async () => {
      if (!this.file) await this.openSegment();
    });
  }

  private closeIfUnused(): Promise<void> {
    return this.serialized(async () => {
      if ([...this.groups.values()].some((s) => s.attached)) return;
      await this.closeFile();
      this.file = null;
    }, false);
  }

  /** A segment is sealed whole: a torn record may only ever be the last one of the last segment. */
  private async closeFile(): Promise<void> {
    if (this.file && this.unsynced && this.sync) await this.file.datasync();
    this.unsynced = false;
    await this.file?.close();
  }

  /** Starts the next segment, which opens with every group's hard state so that older segments can go. */
  private async openSegment(): Promise<void> {
    await this.closeFile();
    const seq = (this.segments[this.segments.length - 1]?.seq ?? 0) + 1;
    const path = join(this.logDir, `${String(seq).padStart(20, '0')}.wal`);
    this.file = await this.fs.open(path, 'a');
    this.fileBytes = 0;
    this.segments.push({ seq, path, claims: new Map() });
    const heads: [number, HardState][] = [];
    for (const [group, state] of this.groups) {
      if (state.writtenHardState) heads.push([group, state.writtenHardState]);
    }
    await this.write([this.record(null, { heads })]);
    if (this.sync) await this.fs.syncDir(this.logDir);
  }

  /**
   * Seals the active segment and starts a new one. Groups with entries in segments older than the one just
   * sealed have their live entries carried into the new one (a complete statement of their log after their
   * snapshot), so that at most one sealed segment stays behind whatever groups sit idle.
   */
  private async roll(): Promise<void> {
    await this.openSegment();
    const old = this.segments.slice(0, -2);
    const carried: PendingRecord[] = [];
    for (const [group, state] of this.groups) {
      if (!old.some((segment) => (segment.claims.get(group) ?? 0) > state.snapshotIndex)) continue;
      carried.push(
        state.live.length > 0
          ? this.record(group, { g: group, e: state.live }, state.live[state.live.length - 1]!.index)
          : this.record(group, { g: group, t: state.snapshotIndex + 1 }),
      );
    }
    if (carried.length > 0) await this.write(carried);
    for (const { group } of carried) {
      for (const segment of this.segments.slice(0, -1)) segment.claims.delete(group!);
    }
    await this.deleteCovered();
  }

  /** Deletes the oldest sealed segments once every group's snapshot covers what they hold (prefixes only: a later one may cut entries of an earlier one). */
  private async deleteCovered(): Promise<void> {
    let covered = 0;
    while (covered < this.segments.length - 1 && this.isCovered(this.segments[covered]!)) covered++;
    if (covered === 0) return;
    for (const segment of this.segments.slice(0, covered)) await this.fs.rm(segment.path);
    this.segments = this.segments.slice(covered);
    if (this.sync) await this.fs.syncDir(this.logDir);
  }

  private isCovered(segment: Segment): boolean {
    for (const [group, maxIndex] of segment.claims) {
      // Only what a durable snapshot covers: entries cut by a truncation not yet durable may still be needed.
      if (maxIndex > this.groups.get(group)!.snapshotIndex) return false;
    }
    return true;
  }

  private async saveSnapshotNow(
    group: number,
    state: GroupState,
    snapshot: Snapshot,
    keepFollowingEntries: boolean,
  ): Promise<void> {
    // An image taken before a newer one was installed: storing it would move the log's start backwards.
    if (snapshot.index < state.snapshotIndex) return;
    // The log is cut before the snapshot lands (issue 10): a crash between them leaves the old snapshot and
    // a log that ends at it, never the new snapshot followed by entries that disagree with it.
    if (!keepFollowingEntries) {
      state.live.length = Math.max(0, Math.min(state.live.length, snapshot.index - state.snapshotIndex));
      await this.append([this.record(group, { g: group, t: snapshot.index + 1 })]);
    }
    const dir = join(this.snapDir, `group-${group}`);
    await mkdirDurable(this.fs, dir);
    const name = `${String(snapshot.index).padStart(20, '0')}-${snapshot.term}.snap`;
    const temp = join(dir, `${name}.tmp`);
    const file = await this.fs.open(temp, 'w');
    try {
      await file.write(frameRecord(packr.pack(snapshot)));
      if (this.sync) await file.sync();
    } finally {
      await file.close();
    }
    await this.fs.rename(temp, join(dir, name));
    if (this.sync) await this.fs.syncDir(dir);
    state.live = state.live.filter((e) => e.index > snapshot.index);
    state.snapshotIndex = snapshot.index;
    const snaps = (await this.fs.readdir(dir)).filter((n) => n.endsWith('.snap')).sort();
    for (const old of snaps.slice(0, -SNAPSHOTS_KEPT)) await this.fs.rm(join(dir, old));
    await this.serialized(() => this.deleteCovered());
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
}

/** One group's RaftStorage over the node's shared log. */
class SharedWalGroupStorage implements RaftStorage {
  private readonly wal: SharedWal;
  private readonly group: number;

  constructor(wal: SharedWal, group: number) {
    this.wal = wal;
    this.group = group;
  }

  load(): Promise<StoredState> {
    return this.wal.attach(this.group);
  }

  save(hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    return this.wal.save(this.group, hardState, entries);
  }

  saveSnapshot(snapshot: Snapshot, keepFollowingEntries: boolean): Promise<void> {
    return this.wal.saveSnapshot(this.group, snapshot, keepFollowingEntries);
  }

  close(): Promise<void> {
    return this.wal.detach(this.group);
  }
}

function groupOfDir(name: string): number | null {
  const match = /^group-(\d+)$/.exec(name);
  return match ? Number.parseInt(match[1]!, 10) : null;
}

/**
 * Replays "these entries replace the log from their first index" into `log`. A jump forward is allowed only
 * where a snapshot covers the missing entries (a crash before older segments were deleted).
 */
function replaceFrom(log: Entry[], entries: readonly Entry[], snapshotIndex: number, path: string): void {
  const first = entries[0]!.index;
  if (log.length > 0) {
    const base = log[0]!.index;
    if (first > base + log.length) {
      if (first > snapshotIndex + 1)
        throw new StorageCorruptionError(`${path}: log gap before index ${first}`);
      log.length = 0;
    } else {
      log.length = Math.max(0, first - base);
    }
  }
  for (const entry of entries) log.push(entry);
}
