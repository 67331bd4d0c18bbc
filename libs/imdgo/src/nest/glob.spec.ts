import { describe, expect, it } from 'vitest';
import { globToRegExp } from './glob.ts';

const matches = (pattern: string, key: string) => globToRegExp(pattern).test(key);

describe('globToRegExp', () => {
  it('reads * as any run of characters and ? as one, anywhere in the pattern', () => {
    expect(matches('a*b', 'a:x:b')).toBe(true);
    expect(matches('a*b', 'ab')).toBe(true);
    expect(matches('a*b', 'a:x:c')).toBe(false);
    expect(matches('user:?', 'user:1')).toBe(true);
    expect(matches('user:?', 'user:12')).toBe(false);
  });

  it('keeps a pattern without wildcards an exact key, and a trailing * a prefix', () => {
    expect(matches('user:1', 'user:1')).toBe(true);
    expect(matches('user:1', 'user:10')).toBe(false);
    expect(matches('user:*', 'user:')).toBe(true);
    expect(matches('user:*', 'user:1\nline')).toBe(true);
    expect(matches('user:*', 'users')).toBe(false);
  });

  it('takes regular-expression characters literally, and a backslash escapes a wildcard', () => {
    expect(matches('a.b+(c)', 'a.b+(c)')).toBe(true);
    expect(matches('a.b', 'axb')).toBe(false);
    expect(matches('what\\?', 'what?')).toBe(true);
    expect(matches('what\\?', 'whatx')).toBe(false);
    expect(matches('star\\*', 'star*')).toBe(true);
    expect(matches('star\\*', 'stars')).toBe(false);
    expect(matches('back\\\\slash', 'back\\slash')).toBe(true);
    expect(matches('trailing\\', 'trailing\\')).toBe(true);
  });
});
