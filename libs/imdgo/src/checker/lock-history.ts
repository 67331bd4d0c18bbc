import type { ChangeEvent } from '../state-machine/change-event.ts';
import { LOCK_SESSION_SPACE, LOCK_SPACES, type LockHolder } from '../state-machine/lock-table.ts';

/**
 * Checks the lock events of one log, in log order, as they come: a lock changes hands only from the holder
 * last seen (so never two holders at once, an election never two leaders), each grant's fencing token is
 * above every earlier one of its name, a session ends (expires or closes) once and holds nothing after,
 * and nothing is granted to a session that ended. The first violation is kept.
 */
export class LockHistoryChecker {
  violation: string | null = null;
  /** Grants seen, as `space/name/session/owner/token`: what a client was told must be among them. */
  readonly grants = new Set<string>();
  /** Grants to a waiter when the lock was released or its holder's session ended. */
  handOvers = 0;
  private readonly holders = new Map<string, LockHolder>();
  private readonly lastToken = new Map<string, number>();
  private readonly ended = new Set<string>();

  get endedSessions(): number {
    return this.ended.size;
  }

  /** Who holds each lock now, as `space/name` → holder. */
  heldLocks(): ReadonlyMap<string, LockHolder> {
    return this.holders;
  }

  observe(change: ChangeEvent): void {
    if (this.violation !== null) return;
    if (change.map === LOCK_SESSION_SPACE) {
      if (change.type === 'set') return;
      if (this.ended.has(change.key)) this.violation = `session ${change.key} ended twice`;
      this.ended.add(change.key);
      return;
    }
    if (!LOCK_SPACES.includes(change.map)) return;
    const name = `${change.map}/${change.key}`;
    const known = this.holders.get(name);
    const previous = change.previous as LockHolder | undefined;
    // Reentrant counts change without an event: who holds it, and with which token, is what must match.
    if (
      previous?.session !== known?.session ||
      previous?.owner !== known?.owner ||
      previous?.token !== known?.token
    ) {
      this.violation = `${name} changed hands at ${change.revision} from ${describe(previous)}, but ${describe(known)} held it`;
      return;
    }
    const next = change.value as LockHolder | undefined;
    if (!next) {
      this.holders.delete(name);
      return;
    }
    if (previous) this.handOvers++;
    if (this.ended.has(next.session)) {
      this.violation = `${name} granted at ${change.revision} to ended session ${next.session}`;
      return;
    }
    const last = this.lastToken.get(name) ?? 0;
    if (next.token <= last) {
      this.violation = `${name}: token ${next.token} granted after ${last}`;
      return;
    }
    this.lastToken.set(name, next.token);
    this.holders.set(name, next);
    this.grants.add(`${name}/${next.session}/${next.owner}/${next.token}`);
  }

  /** After all the events of one entry: no lock is still held by a session that ended. */
  entryDone(index: number): void {
    if (this.violation !== null) return;
    for (const [name, holder] of this.holders) {
      if (this.ended.has(holder.session))
        this.violation = `${name} still held by ended session ${holder.session} after entry ${index}`;
    }
  }
}

function describe(holder: LockHolder | undefined): string {
  return holder ? `${holder.session}/${holder.owner} (token ${holder.token})` : 'nobody';
}
