import { describe, expect, it } from 'vitest';
import { CompactedError } from '../errors.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { ChangeHistory } from './change-history.ts';

const set = (revision: number, key = `k${revision}`): ChangeEvent => ({
  type: 'set',
  map: 'm',
  key,
  value: { v: revision },
  previous: revision > 1 ? { v: revision - 1 } : undefined,
  revision,
});

function compactedFrom(history: ChangeHistory, revision: number): number | null {
  try {
    history.since(revision);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(CompactedError);
    return (error as CompactedError).oldestRevision;
  }
}

describe('ChangeHistory', () => {
  it('replays every kind of event from a revision, oldest first, as it was added', () => {
    const history = new ChangeHistory(10);
    const events: ChangeEvent[] = [
      set(1),
      { type: 'evict', map: 'm', key: 'old', value: undefined, previous: 'gone', revision: 2 },
      set(2, 'new'),
      { type: 'delete', map: '', key: 'k1', value: undefined, previous: { v: 1 }, revision: 3 },
      { type: 'expire', map: 'sessions', key: 's', value: undefined, previous: 7, revision: 4 },
    ];
    for (const event of events) history.add(event);
    expect(history.since(1)).toEqual(events);
    expect(history.since(2)).toEqual(events.slice(1));
    expect(history.since(5)).toEqual([]);
  });

  it('keeps the newest `capacity` events across many turns of its ring, and refuses what it dropped', () => {
    const history = new ChangeHistory(4);
    for (let revision = 1; revision <= 4; revision++) history.add(set(revision));
    expect(compactedFrom(history, 1)).toBeNull();
    for (let revision = 5; revision <= 23; revision++) history.add(set(revision));
    expect(history.since(20)).toEqual([set(20), set(21), set(22), set(23)]);
    expect(history.since(22)).toEqual([set(22), set(23)]);
    expect(compactedFrom(history, 19)).toBe(20);
  });

  it('drops everything a snapshot covers, then keeps what follows it', () => {
    const history = new ChangeHistory(4);
    for (let revision = 1; revision <= 6; revision++) history.add(set(revision));
    history.compactThrough(10);
    expect(compactedFrom(history, 10)).toBe(11);
    expect(history.since(11)).toEqual([]);
    history.add(set(11));
    history.add(set(12));
    expect(history.since(11)).toEqual([set(11), set(12)]);
    // A snapshot older than what was dropped already changes nothing.
    history.compactThrough(5);
    expect(history.since(11)).toEqual([set(11), set(12)]);
  });

  it('keeps nothing at capacity 0, and says from where it could have', () => {
    const history = new ChangeHistory(0);
    history.add(set(1));
    history.add(set(2));
    expect(compactedFrom(history, 2)).toBe(3);
    expect(history.since(3)).toEqual([]);
  });
});
