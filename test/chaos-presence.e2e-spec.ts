import { describe, expect, it } from 'vitest';
import type { ImdgoHistoryEvent } from '../libs/imdgo/src/checker/index.ts';
import { checkPresence } from '../chaos/presence.ts';

const set = (process: number, value: number): ImdgoHistoryEvent => ({
  process,
  type: 'invoke',
  f: 'set',
  key: 'k',
  value,
});
const cas = (process: number, expected: number | null, next: number): ImdgoHistoryEvent => ({
  process,
  type: 'invoke',
  f: 'cas',
  key: 'k',
  value: [expected, next],
});
const done = (
  process: number,
  type: 'ok' | 'fail' | 'info',
  f: 'set' | 'cas' = 'set',
): ImdgoHistoryEvent => ({
  process,
  type,
  f,
  key: 'k',
});
const finalValue = (value: number | null) => new Map([['k', value]]);

describe('chaos presence check', () => {
  const history = [set(0, 1), done(0, 'ok'), set(1, 2), set(2, 3), done(1, 'info'), done(2, 'ok')];

  it('accepts the last acknowledged write, or a write concurrent with it', () => {
    expect(checkPresence(history, finalValue(3))).toEqual([]);
    // The write of 2 was left unknown and overlapped the write of 3: it may have landed last.
    expect(checkPresence(history, finalValue(2))).toEqual([]);
  });

  it('reports an acknowledged write overwritten by an older one', () => {
    expect(checkPresence(history, finalValue(1))).toEqual([
      expect.stringContaining('the write of 3 invoked after it (event 3)'),
    ]);
  });

  it('reports an absent key that had an acknowledged write, and a value nobody could have written', () => {
    expect(checkPresence(history, finalValue(null))).toEqual([expect.stringContaining('k is absent')]);
    expect(checkPresence(history, finalValue(9))).toEqual([expect.stringContaining('k holds 9')]);
  });

  it('does not count a refused cas as a write', () => {
    const refused = [set(0, 1), done(0, 'ok'), cas(1, 5, 6), done(1, 'fail', 'cas')];
    expect(checkPresence(refused, finalValue(6))).toEqual([expect.stringContaining('k holds 6')]);
    expect(checkPresence(refused, finalValue(1))).toEqual([]);
  });
});
