import { describe, expect, it } from 'vitest';
import type { EventType, HistoryEvent } from '../types.ts';
import { pairEvents } from './pair-events.ts';
import type { EventConversion } from './pair-events.ts';

type Event = HistoryEvent & { value: number };

const conversion: EventConversion<Event, number, number> = {
  input: (invoke) => invoke.value,
  output: (_, completion) => completion.value,
  failed: (invoke) => (invoke.f === 'keep' ? -1 : null),
};

function event(process: number, type: EventType, f = 'f', value = 0): Event {
  return { process, type, f, value };
}

function pair(events: Event[]) {
  return pairEvents(
    events,
    events.map((_, i) => i + 1),
    conversion,
  );
}

describe('pairEvents', () => {
  it('pairs by process, timing operations by event position', () => {
    const ops = pair([event(1, 'invoke', 'f', 10), event(2, 'invoke', 'f', 20), event(1, 'ok', 'f', 11)]);
    expect(ops).toEqual([
      { clientId: 1, input: 10, call: 0, output: 11, return: 2 },
      { clientId: 2, input: 20, call: 1, output: undefined, return: Infinity },
    ]);
  });

  it('leaves info completions unknown and drops or keeps fail completions as the format says', () => {
    const ops = pair([
      event(1, 'invoke', 'f'),
      event(1, 'info', 'f'),
      event(2, 'invoke', 'drop'),
      event(2, 'fail', 'drop'),
      event(3, 'invoke', 'keep'),
      event(3, 'fail', 'keep'),
    ]);
    expect(ops.map((op) => [op.clientId, op.output, op.return])).toEqual([
      [1, undefined, Infinity],
      [3, -1, 5],
    ]);
  });

  it('names the line of an event that does not fit', () => {
    expect(() => pair([event(1, 'ok')])).toThrow('line 1: process 1 completes a call it never invoked');
    expect(() => pair([event(1, 'invoke'), event(1, 'invoke')])).toThrow('line 2: process 1 invokes');
    expect(() => pair([event(1, 'invoke', 'a'), event(1, 'ok', 'b')])).toThrow('line 2: completion of b');
  });
});
