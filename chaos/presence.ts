import type { ImdgoHistoryEvent } from '../libs/imdgo/src/checker/index.ts';

interface Write {
  readonly value: unknown;
  readonly outcome: 'ok' | 'info';
  /** Positions of the invocation and completion in the history (Infinity: never completed). */
  readonly invoked: number;
  readonly completed: number;
}

/**
 * Checks that no acknowledged write was lost, from the history and the value each key holds at the end
 * (read linearizably after everything stopped). Values are unique and nothing deletes, so the final value
 * must have been written by a set or cas that was acknowledged or left unknown; and no acknowledged write
 * may have started after that one was acknowledged, since it would then have overwritten it. A key with
 * any acknowledged write cannot be absent. Returns one message per violation.
 */
export function checkPresence(
  events: readonly ImdgoHistoryEvent[],
  finalValues: ReadonlyMap<string, number | null>,
): string[] {
  const writes = writesByKey(events);
  const violations: string[] = [];
  for (const [key, value] of finalValues) {
    const all = writes.get(key) ?? [];
    const acknowledged = all.filter((w) => w.outcome === 'ok');
    if (value === null) {
      if (acknowledged.length > 0) {
        violations.push(`${key} is absent, but ${acknowledged.length} write(s) to it were acknowledged`);
      }
      continue;
    }
    const source = all.find((w) => w.value === value);
    if (!source) {
      violations.push(`${key} holds ${value}, which no write that may have applied wrote`);
      continue;
    }
    const lost = acknowledged.find((w) => w.invoked > source.completed);
    if (lost) {
      violations.push(
        `${key} holds ${value} (written by event ${source.invoked}), but the write of ${String(lost.value)} ` +
          `invoked after it (event ${lost.invoked}) was acknowledged and is gone`,
      );
    }
  }
  return violations;
}

/** Sets, and cas calls that may have applied, with their outcome; a refused (fail) cas wrote nothing. */
function writesByKey(events: readonly ImdgoHistoryEvent[]): Map<string, Write[]> {
  const open = new Map<number, { event: ImdgoHistoryEvent; at: number }>();
  const byKey = new Map<string, Write[]>();
  const add = (event: ImdgoHistoryEvent, invoked: number, outcome: Write['outcome'], completed: number) => {
    const value = event.f === 'set' ? event.value : (event.value as unknown[])[1];
    const list = byKey.get(event.key) ?? [];
    list.push({ value, outcome, invoked, completed });
    byKey.set(event.key, list);
  };
  for (const [at, event] of events.entries()) {
    if (event.type === 'invoke') {
      open.set(event.process, { event, at });
      continue;
    }
    const call = open.get(event.process);
    open.delete(event.process);
    if (!call || (call.event.f !== 'set' && call.event.f !== 'cas')) continue;
    if (event.type === 'ok') add(call.event, call.at, 'ok', at);
    else if (event.type === 'info') add(call.event, call.at, 'info', Infinity);
  }
  // Still open at the end: as unknown as an info.
  for (const { event, at } of open.values()) {
    if (event.f === 'set' || event.f === 'cas') add(event, at, 'info', Infinity);
  }
  return byKey;
}
