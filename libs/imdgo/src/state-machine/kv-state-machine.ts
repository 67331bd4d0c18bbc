import { isDeepStrictEqual } from 'node:util';
import type { Entry } from '../raft/types.ts';
import { MinHeap } from '../util/min-heap.ts';
import type { ChangeEvent } from './change-event.ts';
import {
  parseCommand,
  DEFAULT_MAP,
  type CommandResult,
  type KvCommand,
  type StoreLimit,
} from './commands.ts';
import { isLive, type KvRecord } from './kv-record.ts';
import { SessionTable } from './session-table.ts';
import { decodeImage, type StateCapture } from './snapshot-image.ts';

export interface AppliedCommand {
  readonly index: number;
  /** Null for no-op entries and for stale retries that changed nothing. */
  readonly result: CommandResult | null;
  /** True when `result` is the remembered answer of an earlier, identical write. */
  readonly duplicate: boolean;
  /** What changed, in order: usually one change, more when keys were evicted to make room. */
  readonly changes: readonly ChangeEvent[];
}

export interface ListOptions {
  readonly prefix?: string;
  /** Exclusive cursor: only keys sorted after this one. */
  readonly after?: string;
  readonly limit?: number;
}

interface ApplyContext {
  readonly revision: number;
  readonly time: number;
  /** Encoded size of the entry: what a record it writes is accounted at (identical on every node). */
  readonly size: number;
  readonly storeLimit: StoreLimit | undefined;
}

interface ExpiryCandidate {
  readonly expiresAt: number;
  readonly map: string;
  readonly key: string;
  readonly revision: number;
}

/** Deadline order; ties by map and key, so every node (restored from a snapshot or not) agrees. */
function newExpiryHeap(): MinHeap<ExpiryCandidate> {
  return new MinHeap<ExpiryCandidate>(
    (a, b) =>
      a.expiresAt - b.expiresAt ||
      (a.map < b.map ? -1 : a.map > b.map ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

/**
 * The replicated maps. Deterministic: applying the same log gives the same data on every node. Time enters
 * only through the leader's timestamp in each command; reads take the caller's clock so that a key past its
 * deadline is never returned, even before the leader's expire command is applied.
 */
export class KvStateMachine {
  private maps = new Map<string, Map<string, KvRecord>>();
  private sessions = new SessionTable();
  private expiries = newExpiryHeap();
  appliedIndex = 0;
  /** Sum of the accounted size of every record, for the memory cap. */
  dataBytes = 0;
  private changes: ChangeEvent[] = [];

  /**
   * A consistent copy of the state for a snapshot, cheap enough to take between two applies: records are
   * immutable, so copying the maps (not the values) freezes the state while the image is encoded later.
   */
  capture(): StateCapture {
    return {
      appliedIndex: this.appliedIndex,
      sessions: this.sessions.export(),
      maps: [...this.maps].map(([name, records]) => [name, new Map(records)]),
    };
  }

  /** Replaces the whole state with a snapshot image (InstallSnapshot, or a restart from disk). */
  restore(image: Uint8Array): void {
    const decoded = decodeImage(image);
    this.maps = decoded.maps;
    this.sessions = SessionTable.import(decoded.sessions);
    this.appliedIndex = decoded.appliedIndex;
    this.expiries = newExpiryHeap();
    this.dataBytes = 0;
    for (const [map, records] of this.maps) {
      for (const [key, record] of records) {
        this.dataBytes += record.size;
        if (record.expiresAt !== null) {
          this.expiries.push({ expiresAt: record.expiresAt, map, key, revision: record.modRevision });
        }
      }
    }
  }

  get(map: string, key: string, now: number): KvRecord | undefined {
    const record = this.maps.get(map)?.get(key);
    return isLive(record, now) ? record : undefined;
  }

  size(map: string, now: number): number {
    const records = this.maps.get(map);
    if (!records) return 0;
    let count = 0;
    for (const record of records.values()) if (isLive(record, now)) count++;
    return count;
  }

  /** Live keys in ascending order, paged with a cursor. */
  list(map: string, now: number, options: ListOptions = {}): [string, KvRecord][] {
    const records = this.maps.get(map);
    if (!records) return [];
    const prefix = options.prefix ?? '';
    const out: [string, KvRecord][] = [];
    for (const [key, record] of records) {
      if (!key.startsWith(prefix) || (options.after !== undefined && key <= options.after)) continue;
      if (isLive(record, now)) out.push([key, record]);
    }
    out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return options.limit === undefined ? out : out.slice(0, options.limit);
  }

  mapNames(): string[] {
    return [...this.maps.keys()];
  }

  /** Keys whose deadline passed by `now` and that were not rewritten since: for the leader to expire. */
  dueExpiries(now: number, limit: number): { map: string; key: string; revision: number }[] {
    const due: { map: string; key: string; revision: number }[] = [];
    const skipped: ExpiryCandidate[] = [];
    while (due.length < limit) {
      const next = this.expiries.peek();
      if (!next || next.expiresAt > now) break;
      this.expiries.pop();
      const record = this.maps.get(next.map)?.get(next.key);
      // Rewritten or deleted since: this candidate is obsolete (a newer one exists if still needed).
      if (!record || record.modRevision !== next.revision) continue;
      due.push({ map: next.map, key: next.key, revision: next.revision });
      // Kept until the expire command is applied, in case the proposal is lost with a leader change.
      skipped.push(next);
    }
    for (const candidate of skipped)
      this.expiries.push({ ...candidate, expiresAt: candidate.expiresAt + 1000 });
    return due;
  }

  apply(entry: Entry): AppliedCommand {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`apply out of order: index ${entry.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    const nothing = { index: entry.index, result: null, duplicate: false, changes: [] };
    if (entry.kind !== 'command') return nothing;
    const parsed = parseCommand(entry.data);
    // A command no node can apply is skipped by all alike, rather than halting every replica.
    if (typeof parsed === 'string') return nothing;
    const { session, time, command, storeLimit } = parsed;
    if (session) {
      const seen = this.sessions.lookup(session);
      if (seen === 'stale') return nothing;
      if (seen) return { index: entry.index, result: seen, duplicate: true, changes: [] };
    }
    this.changes = [];
    const context: ApplyContext = {
      revision: entry.index,
      time: time ?? 0,
      size: entry.data.byteLength,
      storeLimit,
    };
    const result = this.execute(command, context);
    if (session) this.sessions.record(session, result);
    return { index: entry.index, result, duplicate: false, changes: this.changes };
  }

  private execute(command: KvCommand, context: ApplyContext): CommandResult {
    const { revision, time } = context;
    const map = command.map ?? DEFAULT_MAP;
    const stored = this.maps.get(map)?.get(command.key);
    // Conditions see the key as the writer's clock did: expired keys are absent.
    const current = isLive(stored, time) ? stored : undefined;
    const refuse = (): CommandResult => ({
      applied: false,
      revision,
      previous: current?.value,
      value: current?.value,
      version: current?.version ?? 0,
    });

    switch (command.op) {
      case 'set':
        if (command.ifAbsent && current) return refuse();
        if (command.ifVersion !== undefined && command.ifVersion !== (current?.version ?? 0)) return refuse();
        return this.write(map, command.key, command.value, command.ttlMs, stored, current, context);
      case 'cas':
        if (!isDeepStrictEqual(current?.value ?? null, command.expected ?? null)) return refuse();
        return this.write(map, command.key, command.value, command.ttlMs, stored, current, context);
      case 'increment': {
        const base = current?.value ?? 0;
        if (typeof base !== 'number') return refuse();
        return this.write(map, command.key, base + command.delta, command.ttlMs, stored, current, context);
      }
      case 'delete':
        if (command.ifVersion !== undefined && command.ifVersion !== (current?.version ?? 0)) return refuse();
        return this.remove(map, command.key, stored, current, revision, 'delete');
      case 'expire':
        if (!stored || stored.modRevision !== command.revision) return refuse();
        return this.remove(map, command.key, stored, stored, revision, 'expire');
    }
  }

  private write(
    map: string,
    key: string,
    value: unknown,
    ttlMs: number | undefined,
    stored: KvRecord | undefined,
    current: KvRecord | undefined,
    context: ApplyContext,
  ): CommandResult {
    const { revision, time, size, storeLimit } = context;
    const growth = size - (stored?.size ?? 0);
    if (storeLimit && growth > 0 && this.dataBytes + growth > storeLimit.maxBytes) {
      if (storeLimit.evictTtl)
        this.evictNearestExpiry(this.dataBytes + growth - storeLimit.maxBytes, map, key, revision);
      if (this.dataBytes + growth > storeLimit.maxBytes) {
        return {
          applied: false,
          revision,
          previous: current?.value,
          value: current?.value,
          version: current?.version ?? 0,
          refusal: 'no-space',
        };
      }
    }
    const record: KvRecord = {
      value,
      version: (current?.version ?? 0) + 1,
      createRevision: current?.createRevision ?? revision,
      modRevision: revision,
      expiresAt: ttlMs === undefined ? null : time + ttlMs,
      size,
    };
    let records = this.maps.get(map);
    if (!records) {
      records = new Map();
      this.maps.set(map, records);
    }
    records.set(key, record);
    this.dataBytes += growth;
    if (record.expiresAt !== null) this.expiries.push({ expiresAt: record.expiresAt, map, key, revision });
    const previous = current?.value;
    this.changes.push({ type: 'set', map, key, value, previous, revision });
    return { applied: true, revision, previous, value, version: record.version };
  }

  /**
   * The memory cap's eviction policy: frees at least `bytes` by removing the keys with a TTL nearest to
   * expiry (never the key being written). Deterministic: the heap orders ties by map and key.
   */
  private evictNearestExpiry(bytes: number, writingMap: string, writingKey: string, revision: number): void {
    let freed = 0;
    const kept: ExpiryCandidate[] = [];
    while (freed < bytes) {
      const next = this.expiries.pop();
      if (!next) break;
      const record = this.maps.get(next.map)?.get(next.key);
      if (!record || record.modRevision !== next.revision) continue;
      if (next.map === writingMap && next.key === writingKey) {
        kept.push(next);
        continue;
      }
      freed += record.size;
      this.deleteRecord(next.map, next.key, record);
      this.changes.push({
        type: 'evict',
        map: next.map,
        key: next.key,
        value: undefined,
        previous: record.value,
        revision,
      });
    }
    for (const candidate of kept) this.expiries.push(candidate);
  }

  private deleteRecord(map: string, key: string, record: KvRecord): void {
    const records = this.maps.get(map)!;
    records.delete(key);
    if (records.size === 0) this.maps.delete(map);
    this.dataBytes -= record.size;
  }

  private remove(
    map: string,
    key: string,
    stored: KvRecord | undefined,
    current: KvRecord | undefined,
    revision: number,
    type: 'delete' | 'expire',
  ): CommandResult {
    if (stored) {
      this.deleteRecord(map, key, stored);
      // Removing a key that had already expired unseen still announces the expiry, so watchers hear of it.
      this.changes.push({
        type: current ? type : 'expire',
        map,
        key,
        value: undefined,
        previous: stored.value,
        revision,
      });
    }
    return {
      applied: current !== undefined,
      revision,
      previous: current?.value,
      value: undefined,
      version: 0,
    };
  }
}
