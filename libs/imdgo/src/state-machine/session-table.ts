import type { CommandResult, SessionStamp } from './commands.ts';

interface Session {
  /** Results the client may still ask for again, by sequence number. */
  readonly results: Map<number, CommandResult>;
  /** Everything below was acknowledged by the client: its results are forgotten. */
  firstKept: number;
}

/**
 * Raft thesis §6.3: the results of each client's writes, so that a retried write returns the first result
 * instead of applying twice. Memory stays bounded by the writes each client has in flight.
 */
export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  /** The remembered result of a duplicate, `'stale'` for a write the client already had answered, or null. */
  lookup(stamp: SessionStamp): CommandResult | 'stale' | null {
    const session = this.sessions.get(stamp.client);
    if (!session) return null;
    if (stamp.seq < session.firstKept) return 'stale';
    return session.results.get(stamp.seq) ?? null;
  }

  record(stamp: SessionStamp, result: CommandResult): void {
    let session = this.sessions.get(stamp.client);
    if (!session) {
      session = { results: new Map(), firstKept: 0 };
      this.sessions.set(stamp.client, session);
    }
    const firstUnacked = stamp.firstUnacked ?? stamp.seq;
    if (firstUnacked > session.firstKept) {
      session.firstKept = firstUnacked;
      for (const seq of session.results.keys()) if (seq < firstUnacked) session.results.delete(seq);
    }
    session.results.set(stamp.seq, result);
  }

  /** Plain data for a snapshot image. */
  export(): SessionExport {
    return [...this.sessions].map(([client, s]) => [client, s.firstKept, [...s.results]]);
  }

  static import(data: SessionExport): SessionTable {
    const table = new SessionTable();
    for (const [client, firstKept, results] of data)
      table.sessions.set(client, { firstKept, results: new Map(results) });
    return table;
  }
}

export type SessionExport = [client: string, firstKept: number, results: [number, CommandResult][]][];
