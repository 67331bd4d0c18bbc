import type { AppendKvInput, AppendKvOutput } from '../models/append-kv.ts';
import type { EventType, HistoryEvent, Operation } from '../types.ts';
import { pairEvents } from './pair-events.ts';
import { HistoryParseError } from './parse-error.ts';

type KvEvent = HistoryEvent & { key: string; value: string | null };

// One `:name value` entry of a flat EDN map (commas are whitespace in EDN); values are strings,
// keywords, integers or nil.
const ENTRY = /[\s,]*:([\w-]+)\s+("(?:[^"\\]|\\.)*"|:[\w-]+|-?\d+|nil)(?=[\s,]|$)[\s,]*/y;
const TYPES = new Set(['invoke', 'ok', 'fail', 'info']);
const FUNCTIONS = new Set(['get', 'put', 'append']);

/** Reads Porcupine's key-value EDN history (see shared/testdata/README.md) into operations. */
export function parsePorcupineKv(text: string): Operation<AppendKvInput, AppendKvOutput>[] {
  const events: KvEvent[] = [];
  const lines: number[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    events.push(toEvent(readEdnMap(raw.trim(), index + 1), index + 1));
    lines.push(index + 1);
  }
  return pairEvents(events, lines, {
    input(invoke, line): AppendKvInput {
      if (invoke.f !== 'get' && invoke.value === null) {
        throw new HistoryParseError(line, `${invoke.f} needs a string value`);
      }
      return { op: invoke.f as AppendKvInput['op'], key: invoke.key, value: invoke.value ?? '' };
    },
    output(invoke, completion, line): AppendKvOutput {
      if (invoke.f !== 'get') return { ok: true };
      if (completion.value === null)
        throw new HistoryParseError(line, 'a completed get needs a string value');
      return { value: completion.value };
    },
    // A failed operation had no effect and read nothing.
    failed: () => null,
  });
}

function readEdnMap(text: string, line: number): Map<string, string> {
  if (!text.startsWith('{') || !text.endsWith('}')) throw new HistoryParseError(line, 'not an EDN map');
  const body = text.slice(1, -1);
  const entries = new Map<string, string>();
  ENTRY.lastIndex = 0;
  while (ENTRY.lastIndex < body.length) {
    const match = ENTRY.exec(body);
    if (match === null)
      throw new HistoryParseError(line, `cannot read the map entry at ${body.slice(ENTRY.lastIndex)}`);
    entries.set(match[1], match[2]);
  }
  return entries;
}

function toEvent(entries: Map<string, string>, line: number): KvEvent {
  const process = entries.get('process');
  const type = entries.get('type')?.slice(1);
  const f = entries.get('f')?.slice(1);
  const key = entries.get('key');
  const value = entries.get('value') ?? 'nil';
  if (process === undefined || !/^\d+$/.test(process)) throw new HistoryParseError(line, 'missing :process');
  if (type === undefined || !TYPES.has(type)) throw new HistoryParseError(line, 'missing or unknown :type');
  if (f === undefined || !FUNCTIONS.has(f)) throw new HistoryParseError(line, 'missing or unknown :f');
  if (key === undefined || !key.startsWith('"')) throw new HistoryParseError(line, 'missing string :key');
  if (value !== 'nil' && !value.startsWith('"'))
    throw new HistoryParseError(line, ':value must be a string or nil');
  return {
    process: Number(process),
    type: type as EventType,
    f,
    key: ednString(key, line),
    value: value === 'nil' ? null : ednString(value, line),
  };
}

/** EDN string escapes (\" \\ \n \t \r) are a subset of JSON's. */
function ednString(literal: string, line: number): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    throw new HistoryParseError(line, `bad string literal ${literal}`);
  }
}
