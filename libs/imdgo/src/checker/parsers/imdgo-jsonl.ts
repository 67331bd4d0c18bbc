import type { ImdgoKvInput, ImdgoKvOutput } from '../models/imdgo-kv.ts';
import type { EventType, Operation } from '../types.ts';
import { pairEvents } from './pair-events.ts';
import { HistoryParseError } from './parse-error.ts';

/**
 * One line of an imdgo history, Jepsen-like: `set` invocations carry the value, `cas` invocations
 * `[expected, next]`, and an `ok` get carries the value read (null when absent). A `fail` cas did not
 * apply because the value differed; any other `fail` had no effect. `info` means the outcome is unknown.
 */
export type ImdgoHistoryEvent = {
  process: number;
  type: EventType;
  f: ImdgoFunction;
  key: string;
  value?: unknown;
};

export type ImdgoFunction = 'get' | 'set' | 'delete' | 'cas';

const TYPES: ReadonlySet<string> = new Set(['invoke', 'ok', 'fail', 'info']);
const FUNCTIONS: ReadonlySet<string> = new Set(['get', 'set', 'delete', 'cas']);

/** One event as a JSON line (without the newline), fields in a fixed order. */
export function formatImdgoEvent(event: ImdgoHistoryEvent): string {
  const { process, type, f, key } = event;
  return JSON.stringify(
    'value' in event ? { process, type, f, key, value: event.value } : { process, type, f, key },
  );
}

/** A whole history in the JSON-lines format, one event a line. */
export function formatImdgoHistory(events: Iterable<ImdgoHistoryEvent>): string {
  let text = '';
  for (const event of events) text += `${formatImdgoEvent(event)}\n`;
  return text;
}

/** Reads a JSON-lines history into operations; blank lines are ignored. */
export function parseImdgoHistory(text: string): Operation<ImdgoKvInput, ImdgoKvOutput>[] {
  const events: ImdgoHistoryEvent[] = [];
  const lines: number[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    events.push(readEvent(raw, index + 1));
    lines.push(index + 1);
  }
  return toOperations(events, lines);
}

/** Turns events recorded in memory into operations, as if they had been written and read back. */
export function imdgoEventsToOperations(
  events: readonly ImdgoHistoryEvent[],
): Operation<ImdgoKvInput, ImdgoKvOutput>[] {
  return toOperations(
    events,
    Array.from(events, (_, index) => index + 1),
  );
}

function toOperations(
  events: readonly ImdgoHistoryEvent[],
  lines: readonly number[],
): Operation<ImdgoKvInput, ImdgoKvOutput>[] {
  return pairEvents(events, lines, {
    input(invoke, line): ImdgoKvInput {
      const { f, key } = invoke;
      if (f === 'get' || f === 'delete') return { op: f, key };
      if (!('value' in invoke)) throw new HistoryParseError(line, `a ${f} invocation needs a value`);
      if (f === 'set') return { op: 'set', key, value: invoke.value };
      if (!Array.isArray(invoke.value) || invoke.value.length !== 2) {
        throw new HistoryParseError(line, 'a cas invocation needs the value [expected, next]');
      }
      return { op: 'cas', key, expected: invoke.value[0], next: invoke.value[1] };
    },
    output(invoke, completion, line): ImdgoKvOutput {
      if (invoke.f !== 'get') return { ok: true };
      if (!('value' in completion)) throw new HistoryParseError(line, 'an ok get needs the value read');
      return { value: completion.value };
    },
    failed: (invoke) => (invoke.f === 'cas' ? { ok: false } : null),
  });
}

function readEvent(raw: string, line: number): ImdgoHistoryEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new HistoryParseError(line, 'not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HistoryParseError(line, 'not a JSON object');
  }
  const { process, type, f, key } = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(process) || (process as number) < 0) {
    throw new HistoryParseError(line, '"process" must be a non-negative integer');
  }
  if (typeof type !== 'string' || !TYPES.has(type)) {
    throw new HistoryParseError(line, '"type" must be invoke, ok, fail or info');
  }
  if (typeof f !== 'string' || !FUNCTIONS.has(f)) {
    throw new HistoryParseError(line, '"f" must be get, set, delete or cas');
  }
  if (typeof key !== 'string') throw new HistoryParseError(line, '"key" must be a string');
  const event: ImdgoHistoryEvent = {
    process: process as number,
    type: type as EventType,
    f: f as ImdgoFunction,
    key,
  };
  if ('value' in parsed) event.value = parsed.value;
  return event;
}
