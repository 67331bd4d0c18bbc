import type { CommandResult, SessionStamp } from './commands.ts';

/**
 * The last applied sequence number and result of every client (Raft thesis §6.3): a command whose sequence
 * number was already applied returns the remembered result instead of applying twice; an older one is
 * ignored, because its client has moved on.
 */
export class SessionTable {
  private readonly sessions = new Map<string, { seq: number; result: CommandResult }>();

  /** The remembered outcome for a duplicate, `'stale'` for an outdated command, or null to apply it. */
  lookup(stamp: SessionStamp): CommandResult | 'stale' | null {
    const session = this.sessions.get(stamp.client);
    if (!session || stamp.seq > session.seq) return null;
    return stamp.seq === session.seq ? session.result : 'stale';
  }

  record(stamp: SessionStamp, result: CommandResult): void {
    this.sessions.set(stamp.client, { seq: stamp.seq, result });
  }
}
