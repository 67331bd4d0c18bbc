import { describe, expect, it } from 'vitest';
import { ExploredSet } from './explored-set.ts';

describe('ExploredSet', () => {
  it('adds a pair once', () => {
    const set = new ExploredSet(2);
    expect(set.add(7, Uint32Array.of(1, 2), 's')).toBe(true);
    expect(set.add(7, Uint32Array.of(1, 2), 's')).toBe(false);
    expect(set.add(7, Uint32Array.of(1, 2), 't')).toBe(true);
  });

  it('tells apart sets whose hashes collide', () => {
    const set = new ExploredSet(1);
    expect(set.add(7, Uint32Array.of(1), 's')).toBe(true);
    expect(set.add(7, Uint32Array.of(2), 's')).toBe(true);
    expect(set.add(7, Uint32Array.of(2), 's')).toBe(false);
  });

  it('keeps every pair while growing', () => {
    const set = new ExploredSet(1);
    const count = 20_000;
    for (let i = 0; i < count; i++) expect(set.add(i % 97, Uint32Array.of(i), String(i % 3))).toBe(true);
    for (let i = 0; i < count; i++) expect(set.add(i % 97, Uint32Array.of(i), String(i % 3))).toBe(false);
  });
});
