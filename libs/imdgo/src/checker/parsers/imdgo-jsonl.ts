import type { ImdgoKvInput, ImdgoKvOutput } from '../models/imdgo-kv.ts';
import type { EventType, Operation } from '../types.ts';
import { pairEvents } from './pair-events.ts';
import { HistoryParseError } from './parse-error.ts';

/**
 * One line of an imdgo history, Jepsen-like: `set` and `putIfAbsent` invocations carry the value, `cas`
 * invocations `[expected, next]`, `setIfVersion` invocations `[version, value]`, `increment` invocations
 * the delta; a write with a time to live carries `ttl` (ms). An `ok` get carries the value read (null when
 * absent) and may carry the key's `version`; an `ok` increment carries the new value. A `fail` cas,
 * putIfAbsent or setIfVersion did not apply because its condition did not hold, a `fail` delete found
 * nothing to delete; any other `fail` had no effect. `info` means the outcome is unknown.
 */
export type ImdgoHistoryEvent = {
  process: number;
  type: EventType;
  f: ImdgoFunction;
  key: string;
  value?: unknown;
  version?: number;
  ttl?: number;
};

export type ImdgoFunction = 'get' | 'set' | 'delete' | 'cas' | 'putIfAbsent' | 'setIfVersion' | 'increment';

const TYPES: ReadonlySet<string> = new Set(['invoke', 'ok', 'fail', 'info']);
/** Every function an imdgo history may hold, in the order reports list them. */
export const IMDGO_FUNCTIONS: readonly ImdgoFunction[] = [
  'get',
  'set',
  'delete',
  'cas',
  'putIfAbsent',
  'setIfVersion',
  'increment',
];
const FUNCTIONS: ReadonlySet<string> = new Set<ImdgoFunction>(IMDGO_FUNCTIONS);
/** Functions whose `fail` says their condition did not hold (rather than that nothing happened). */
const REFUSABLE: ReadonlySet<string> = new Set<ImdgoFunction>([
  'delete',
  'cas',
  'putIfAbsent',
  'setIfVersion',
]);

/** One event as a JSON line (without the newline), fields in a fixed order. */
export function formatImdgoEvent(event: ImdgoHistoryEvent): string {
  const { process, type, f, key } = event;
  return JSON.stringify({
    process,
    type,
    f,
    key,
    ...('value' in event && { value: event.value }),
    ...(event.version !== undefined && { version: event.version }),
    ...(event.ttl !== undefined && { ttl: event.ttl }),
  });
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
      const { f, key, value } = invoke;
      if (f === 'get' || f === 'delete') return { op: f, key };
      if (!('value' in invoke)) throw new HistoryParseError(line, `a ${f} invocation needs a value`);
      const ttl = invoke.ttl === undefined ? {} : { ttl: true };
      if (f === 'set' || f === 'putIfAbsent') return { op: f, key, value, ...ttl };
      if (f === 'increment') {
        if (typeof value !== 'number')
          throw new HistoryParseError(line, 'an increment needs a numeric delta');
        return { op: 'increment', key, delta: value, ...ttl };
      }
      if (!Array.isArray(value) || value.length !== 2) {
        const shape = f === 'cas' ? '[expected, next]' : '[version, value]';
        throw new HistoryParseError(line, `a ${f} invocation needs the value ${shape}`);
      }
      if (f === 'cas') return { op: 'cas', key, expected: value[0], next: value[1], ...ttl };
      if (!Number.isSafeInteger(value[0])) throw new HistoryParseError(line, 'a version must be an integer');
      return { op: 'setIfVersion', key, version: value[0] as number, value: value[1], ...ttl };
    },
    output(invoke, completion, line): ImdgoKvOutput {
      if (invoke.f !== 'get' && invoke.f !== 'increment') return { ok: true };
      if (!('value' in completion)) {
        const what = invoke.f === 'get' ? 'the value read' : 'the new value';
        throw new HistoryParseError(line, `an ok ${invoke.f} needs ${what}`);
      }
      return completion.version === undefined
        ? { value: completion.value }
        : { value: completion.value, version: completion.version };
    },
    failed: (invoke) => (REFUSABLE.has(invoke.f) ? { ok: false } : null),
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
    throw new HistoryParseError(line, `"f" must be one of ${[...FUNCTIONS].join(', ')}`);
  }
  if (typeof key !== 'string') throw new HistoryParseError(line, '"key" must be a string');
  const event: ImdgoHistoryEvent = {
    process: process as number,
    type: type as EventType,
    f: f as ImdgoFunction,
    key,
  };
  if ('value' in parsed) event.value = parsed.value;
  const { version, ttl } = parsed as Record<string, unknown>;
  if (version !== undefined) {
    if (!Number.isSafeInteger(version) || (version as number) < 0) {
      throw new HistoryParseError(line, '"version" must be a non-negative integer');
    }
    event.version = version as number;
  }
  if (ttl !== undefined) {
    if (!Number.isSafeInteger(ttl) || (ttl as number) < 1) {
      throw new HistoryParseError(line, '"ttl" must be a positive integer (ms)');
    }
    event.ttl = ttl as number;
  }
  return event;
}
