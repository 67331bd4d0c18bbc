import type { CommandResult, SessionStamp } from './commands.ts';

/**
 * How long a client's session outlives its last write, in log time. Far above any write's retries
 * (`requestTimeoutMs`), so that no retry can find its session gone and apply a second time.
 */
export const SESSION_IDLE_MS = 60 * 60 * 1000;

interface KeptResult {
  readonly result: CommandResult;
  /** Bytes of the value the result holds that the store no longer does (the one it replaced or removed). */
  readonly bytes: number;
}

interface Session {
  /** Results the client may still ask for again, by sequence number. */
  readonly results: Map<number, KeptResult>;
  /** Everything below was acknowledged by the client: its results are forgotten. */
  firstKept: number;
  /** Log time of the client's latest write. */
  lastActive: number;
  /**
   * Whether `results` iterates in ascending sequence numbers (they are kept in insertion order), all of them
   * integers at or above `firstKept`.
   */
  ascending: boolean;
  /** The sequence number of the result inserted last. */
  newestSeq: number;
}

/**
 * Raft thesis §6.3: the results of each client's writes, so that a retried write returns the first result
 * instead of applying twice. Results are kept only until the client acknowledges them (bounded by its writes
 * in flight), and a session idle for SESSION_IDLE_MS of log time is dropped, a decision taken from the log
 * alone so every node drops it at the same entry.
 */
export class SessionTable {
  /** By last activity, oldest first: a touched session is moved to the end. */
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  /** Sum of `bytes` over every kept result: memory the cap counts besides the stored keys. */
  retainedBytes = 0;
  /** The client last moved to the end of `sessions` (it may since have been dropped). */
  private newestClient: string | undefined;
  /**
   * No session is idle before this log time: at most the oldest session's `lastActive + idleMs`. Every
   * node checks on every entry, and a walk of the map costs an iterator and an entry array each time.
   */
  private noneIdleBefore = Number.NEGATIVE_INFINITY;

  constructor(idleMs = SESSION_IDLE_MS) {
    this.idleMs = idleMs;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The remembered result of a duplicate, `'stale'` for a write the client already had answered, or null. */
  lookup(stamp: SessionStamp): CommandResult | 'stale' | null {
    const session = this.sessions.get(stamp.client);
    if (!session) return null;
    if (stamp.seq < session.firstKept) return 'stale';
    return session.results.get(stamp.seq)?.result ?? null;
  }

  record(stamp: SessionStamp, result: CommandResult, bytes: number, time: number): void {
    let session = this.sessions.get(stamp.client);
    // Moved to the end, unless it is there already (one client writing alone, as a single node's app does).
    if (session === undefined || this.newestClient !== stamp.client) {
      if (session) this.sessions.delete(stamp.client);
      else {
        session = { results: new Map(), firstKept: 0, lastActive: time, ascending: true, newestSeq: 0 };
        this.noneIdleBefore = Math.min(this.noneIdleBefore, time + this.idleMs);
      }
      this.sessions.set(stamp.client, session);
      this.newestClient = stamp.client;
    }
    session.lastActive = time;
    const firstUnacked = stamp.firstUnacked ?? stamp.seq;
    if (firstUnacked > session.firstKept) {
      const previousFirstKept = session.firstKept;
      session.firstKept = firstUnacked;
      const span = firstUnacked - previousFirstKept;
      if (session.ascending && Number.isSafeInteger(previousFirstKept) && span <= session.results.size) {
        // In order, every kept result is at or above the previous firstKept: the newly acknowledged ones
        // are found by sequence number (usually one), without walking the map.
        for (let seq = previousFirstKept; seq < firstUnacked; seq++) this.forget(session, seq);
      } else {
        this.forgetBelow(session, firstUnacked);
      }
    }
    // A result kept below firstKept (a stamp acknowledging its own write) or under a number that is not an
    // integer would be missed by the walk by number.
    if (!Number.isSafeInteger(stamp.seq) || stamp.seq < session.firstKept) session.ascending = false;
    else if (session.results.size === 0) session.ascending = true;
    else if (stamp.seq <= session.newestSeq) session.ascending = false;
    session.newestSeq = stamp.seq;
    session.results.set(stamp.seq, { result, bytes });
    this.retainedBytes += bytes;
  }

  private forget(session: Session, seq: number): void {
    const kept = session.results.get(seq);
    if (kept === undefined) return;
    session.results.delete(seq);
    this.retainedBytes -= kept.bytes;
  }

  private forgetBelow(session: Session, firstUnacked: number): void {
    // Kept in ascending order, every result after the first one kept is newer still: with many writes in
    // flight, a full scan per write would cost as many steps as there are writes in flight.
    let ascending = true;
    let previous = -Infinity;
    for (const [seq, kept] of session.results) {
      if (seq >= firstUnacked) {
        if (session.ascending) break;
        ascending &&= seq > previous && Number.isSafeInteger(seq);
        previous = seq;
        continue;
      }
      session.results.delete(seq);
      this.retainedBytes -= kept.bytes;
    }
    // A full scan learns whether what is left is back in order (writes reordered by retries are gone).
    session.ascending = ascending;
  }

  /** Drops the sessions idle since `now - idleMs` or longer (log time, never a local clock). */
  expireIdle(now: number): void {
    if (now < this.noneIdleBefore) return;
    for (const [client, session] of this.sessions) {
      if (session.lastActive + this.idleMs > now) {
        // The oldest: a session touched since moves after the others, a new one lowers the bound (record).
        this.noneIdleBefore = session.lastActive + this.idleMs;
        return;
      }
      this.sessions.delete(client);
      for (const kept of session.results.values()) this.retainedBytes -= kept.bytes;
    }
    this.noneIdleBefore = Number.POSITIVE_INFINITY;
  }

  /** Plain data for a snapshot image, oldest activity first. */
  export(): SessionExport {
    return [...this.sessions].map(([client, s]) => [
      client,
      s.firstKept,
      s.lastActive,
      [...s.results].map(([seq, kept]) => [seq, kept.result, kept.bytes]),
    ]);
  }

  static import(data: SessionExport, idleMs = SESSION_IDLE_MS): SessionTable {
    const table = new SessionTable(idleMs);
    for (const [client, firstKept, lastActive, results] of data) {
      const kept = new Map(results.map(([seq, result, bytes]) => [seq, { result, bytes }]));
      const ascending = results.every(
        ([seq], i) => Number.isSafeInteger(seq) && seq >= firstKept && (i === 0 || seq > results[i - 1]![0]),
      );
      const newestSeq = results.at(-1)?.[0] ?? 0;
      table.sessions.set(client, { firstKept, lastActive, results: kept, ascending, newestSeq });
      for (const { bytes } of kept.values()) table.retainedBytes += bytes;
    }
    return table;
  }
}

export type SessionExport = [
  client: string,
  firstKept: number,
  lastActive: number,
  results: [seq: number, result: CommandResult, bytes: number][],
][];
