import type { HistoryEvent, Operation } from '../types.ts';
import { HistoryParseError } from './parse-error.ts';

/** What a format makes of an invocation and its completion. */
export type EventConversion<E extends HistoryEvent, I, O> = {
  input(invoke: E, line: number): I;
  /** The output an `ok` completion carries. */
  output(invoke: E, completion: E, line: number): O;
  /** The output a `fail` completion implies, or null when the operation simply had no effect. */
  failed(invoke: E): O | null;
};

/**
 * Pairs each invocation with the next completion by the same process. Times are event positions; an
 * `info` completion or a missing one leaves the outcome unknown, so the operation returns at infinity.
 * `lines[i]` is the source line of `events[i]`, for error messages.
 */
export function pairEvents<E extends HistoryEvent, I, O>(
  events: readonly E[],
  lines: readonly number[],
  conversion: EventConversion<E, I, O>,
): Operation<I, O>[] {
  const ops: Operation<I, O>[] = [];
  const dropped = new Set<Operation<I, O>>();
  const pending = new Map<number, { invoke: E; op: Operation<I, O> }>();
  for (const [time, event] of events.entries()) {
    const line = lines[time];
    const open = pending.get(event.process);
    if (event.type === 'invoke') {
      if (open !== undefined) {
        throw new HistoryParseError(line, `process ${event.process} invokes while its previous call is open`);
      }
      const input = conversion.input(event, line);
      const op: Operation<I, O> = {
        clientId: event.process,
        input,
        call: time,
        output: undefined,
        return: Infinity,
      };
      ops.push(op);
      pending.set(event.process, { invoke: event, op });
      continue;
    }
    if (open === undefined) {
      throw new HistoryParseError(line, `process ${event.process} completes a call it never invoked`);
    }
    if (open.invoke.f !== event.f) {
      throw new HistoryParseError(
        line,
        `completion of ${event.f} does not match invocation of ${open.invoke.f}`,
      );
    }
    if (open.invoke.key !== event.key) {
      throw new HistoryParseError(
        line,
        `completion of key ${event.key} does not match invocation of ${open.invoke.key}`,
      );
    }
    pending.delete(event.process);
    if (event.type === 'info') continue;
    const output =
      event.type === 'ok' ? conversion.output(open.invoke, event, line) : conversion.failed(open.invoke);
    if (output === null) dropped.add(open.op);
    else {
      open.op.output = output;
      open.op.return = time;
    }
  }
  return ops.filter((op) => !dropped.has(op));
}
