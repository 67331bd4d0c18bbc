import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { keyChangeFilter } from './key-change-filter.ts';

const change = (type: ChangeEvent['type'], key: string, map = ''): ChangeEvent => ({
  type,
  map,
  key,
  value: undefined,
  previous: undefined,
  revision: 7,
});
const reset = change('reset', '');

describe('keyChangeFilter', () => {
  it('passes changes of the pattern, map and types only', () => {
    const matches = keyChangeFilter({ key: 'user:*', map: 'people', type: ['set', 'delete'] });
    expect(matches(change('set', 'user:1', 'people'))).toBe(true);
    expect(matches(change('set', 'order:1', 'people'))).toBe(false);
    expect(matches(change('set', 'user:1', 'other'))).toBe(false);
    expect(matches(change('expire', 'user:1', 'people'))).toBe(false);
  });

  it('tells every handler of a reset, whatever its key and map', () => {
    expect(keyChangeFilter({ key: 'user:*', map: 'people' })(reset)).toBe(true);
    expect(keyChangeFilter({ type: ['set', 'reset'] })(reset)).toBe(true);
  });

  it('leaves resets out of a handler whose types do not name them', () => {
    expect(keyChangeFilter({ type: 'expire' })(reset)).toBe(false);
  });
});
