import type { ImdgoHistoryEvent } from '../libs/imdgo/src/checker/index.ts';

interface Write {
  readonly value: unknown;
  readonly outcome: 'ok' | 'info';
  /** Positions of the invocation and completion in the history (Infinity: never completed). */
  readonly invoked: number;
  readonly completed: number;
}

/** Functions that only ever write a fresh unique value, or nothing. */
const PLAIN_WRITES: ReadonlySet<string> = new Set(['set', 'cas', 'putIfAbsent', 'setIfVersion']);

/**
 * Checks that no acknowledged write was lost, from the history and the value each key holds at the end
 * (read linearizably after everything stopped), with a message that names the write. Only for keys that
 * saw nothing but writes of unique values without a TTL (set, cas, putIfAbsent, setIfVersion): then the
 * final value must have been written by one that was acknowledged or left unknown, no acknowledged write
 * may have started after that one was acknowledged (it would have overwritten it), and a key with any
 * acknowledged write cannot be absent. Keys that were deleted, incremented or given a TTL are left to the
 * linearizability check, which sees the final reads too. Returns one message per violation.
 */
export function checkPresence(
  events: readonly ImdgoHistoryEvent[],
  finalValues: ReadonlyMap<string, number | null>,
): string[] {
  const writes = writesByKey(events);
  const violations: string[] = [];
  const skipped = new Set(
    events
      .filter(
        (e) => e.type === 'invoke' && (e.ttl !== undefined || !(e.f === 'get' || PLAIN_WRITES.has(e.f))),
      )
      .map((e) => e.key),
  );
  for (const [key, value] of finalValues) {
    if (skipped.has(key)) continue;
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

/** Plain writes that may have applied, with their outcome; a refused (fail) one wrote nothing. */
function writesByKey(events: readonly ImdgoHistoryEvent[]): Map<string, Write[]> {
  const open = new Map<number, { event: ImdgoHistoryEvent; at: number }>();
  const byKey = new Map<string, Write[]>();
  const add = (event: ImdgoHistoryEvent, invoked: number, outcome: Write['outcome'], completed: number) => {
    const value = Array.isArray(event.value) ? (event.value as unknown[])[1] : event.value;
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
    if (!call || !PLAIN_WRITES.has(call.event.f)) continue;
    if (event.type === 'ok') add(call.event, call.at, 'ok', at);
    else if (event.type === 'info') add(call.event, call.at, 'info', Infinity);
  }
  // Still open at the end: as unknown as an info.
  for (const { event, at } of open.values()) {
    if (PLAIN_WRITES.has(event.f)) add(event, at, 'info', Infinity);
  }
  return byKey;
}
