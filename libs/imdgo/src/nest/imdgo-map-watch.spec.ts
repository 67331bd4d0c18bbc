import 'reflect-metadata';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { ImdgoMap } from './imdgo-map.ts';
import type { ImdgoRuntime } from './imdgo-runtime.ts';

/** The keys `watch(pattern)` on map `m` passes, out of a set of changes to `m` and to another map. */
function watched(pattern: string, keys: readonly string[]): string[] {
  const changes = new Subject<ChangeEvent>();
  const runtime = { changes$: changes.asObservable() } as unknown as ImdgoRuntime;
  const seen: string[] = [];
  new ImdgoMap(runtime, 'm').watch(pattern).subscribe((change) => seen.push(change.key));
  let revision = 0;
  for (const key of keys) {
    for (const map of ['m', 'other']) {
      changes.next({ type: 'set', map, key, value: 1, previous: undefined, revision: ++revision });
    }
  }
  return seen;
}

describe('ImdgoMap#watch', () => {
  const keys = ['ab', 'a:1:b', 'a:1:c', 'user:1', 'user:12', 'users', 'what?', 'whatx'];

  it('matches with the glob rules of @OnKeyChange, in its own map only', () => {
    expect(watched('a*b', keys)).toEqual(['ab', 'a:1:b']);
    expect(watched('user:?', keys)).toEqual(['user:1']);
  });

  it('keeps a plain key exact and a trailing * a prefix', () => {
    expect(watched('user:1', keys)).toEqual(['user:1']);
    expect(watched('user:*', keys)).toEqual(['user:1', 'user:12']);
    expect(watched('what\\?', keys)).toEqual(['what?']);
  });
});
