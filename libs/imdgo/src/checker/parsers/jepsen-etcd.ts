import type { RegisterInput, RegisterOutput } from '../models/etcd-register.ts';
import type { EventType, HistoryEvent, Operation } from '../types.ts';
import { pairEvents } from './pair-events.ts';
import { HistoryParseError } from './parse-error.ts';

type EtcdEvent = HistoryEvent & { value: string };

// `INFO  jepsen.util - <process> <type> <f> <value>`, fields separated by tabs or runs of spaces.
const LINE = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;
const INTEGER = /^-?\d+$/;
const PAIR = /^\[\s*(-?\d+)\s+(-?\d+)\s*\]$/;

/** Reads a Jepsen etcd register log (see shared/testdata/README.md) into operations. */
export function parseJepsenEtcd(text: string): Operation<RegisterInput, RegisterOutput>[] {
  const events: EtcdEvent[] = [];
  const lines: number[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    const match = LINE.exec(raw);
    if (match === null) throw new HistoryParseError(index + 1, `not a jepsen.util event: ${raw.trim()}`);
    events.push({ process: Number(match[1]), type: match[2] as EventType, f: match[3], value: match[4] });
    lines.push(index + 1);
  }
  return pairEvents(events, lines, {
    input(invoke, line): RegisterInput {
      if (invoke.f === 'read') return { op: 'read' };
      if (invoke.f === 'write') return { op: 'write', value: integer(invoke.value, line) };
      const pair = PAIR.exec(invoke.value);
      if (pair === null) throw new HistoryParseError(line, `cas needs [from to], got ${invoke.value}`);
      return { op: 'cas', from: Number(pair[1]), to: Number(pair[2]) };
    },
    output(invoke, completion, line): RegisterOutput {
      if (invoke.f !== 'read') return { ok: true };
      return { value: completion.value === 'nil' ? null : integer(completion.value, line) };
    },
    // A failed cas means the comparison failed; a failed read returned nothing, so it is dropped.
    failed: (invoke) => (invoke.f === 'cas' ? { ok: false } : null),
  });
}

function integer(text: string, line: number): number {
  if (!INTEGER.test(text)) throw new HistoryParseError(line, `expected an integer, got ${text}`);
  return Number(text);
}
