import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import { PartitionFeed } from './partition-feed.ts';

const set = (revision: number, key = `k${revision}`): ChangeEvent => ({
  type: 'set',
  map: 'm',
  key,
  value: revision,
  previous: undefined,
  revision,
});

function feed(capacity = 100): { feed: PartitionFeed; emitted: ChangeEvent[] } {
  const emitted: ChangeEvent[] = [];
  return { feed: new PartitionFeed(capacity, (event) => emitted.push(event)), emitted };
}

describe('PartitionFeed', () => {
  it('emits each revision once whatever its sources repeat, keeping the events one entry emits together', () => {
    const { feed: f, emitted } = feed();
    f.applied(set(1));
    f.applied(set(2));
    // An entry that evicted a key before writing: two events under one revision.
    f.applied({ ...set(3, 'evicted'), type: 'evict' });
    f.applied(set(3));
    f.followed([set(2), set(3), set(4), set(5)]);
    f.followed([set(5), set(6)]);
    // A re-created replica replays from the start.
    f.replicaStarted();
    f.applied(set(1));
    f.applied(set(6));
    f.applied(set(7));
    expect(emitted.map((e) => `${e.revision}${e.key}`)).toEqual([
      '1k1',
      '2k2',
      '3evicted',
      '3k3',
      '4k4',
      '5k5',
      '6k6',
      '7k7',
    ]);
    expect(f.revision).toBe(7);
  });

  it('serves followers whole entries from a revision, and says when that revision is compacted', () => {
    const { feed: f } = feed(4);
    for (let r = 1; r <= 6; r++) f.applied(set(r));
    f.applied(set(6, 'second'));
    expect(f.slice(5, 1)).toEqual({ events: [set(5)], last: 6 });
    // Never split an entry: both events of revision 6.
    expect(f.slice(6, 1)).toEqual({ events: [set(6), set(6, 'second')], last: 6 });
    expect(f.slice(7, 10)).toEqual({ events: [], last: 6 });
    for (let r = 7; r <= 40; r++) f.applied(set(r));
    // Past the capacity and a quarter (at least 16): trimmed to the newest, whole entries only.
    const { compacted } = f.slice(1, 10) as { compacted: number };
    const kept = (f.slice(compacted, 100) as unknown as { events: ChangeEvent[] }).events;
    expect(kept.map((e) => e.revision)).toEqual(
      Array.from({ length: 41 - compacted }, (_, i) => compacted + i),
    );
    expect(kept.length).toBeGreaterThanOrEqual(4);
    expect(kept.length).toBeLessThanOrEqual(4 + 16);
    expect(f.since(1)).toBeNull();
  });

  it('a reset past what was emitted says so once and compacts; one within it is ignored', () => {
    const { feed: f, emitted } = feed();
    f.applied(set(1));
    f.reset(1);
    expect(emitted).toHaveLength(1);
    f.reset(10);
    expect(emitted.at(-1)).toMatchObject({ type: 'reset', revision: 10 });
    expect(f.slice(5, 10)).toEqual({ compacted: 11 });
    f.followed([set(9), set(11)]);
    expect(emitted.at(-1)).toMatchObject({ revision: 11 });
    expect(f.since(11)).toEqual([set(11)]);
  });

  it('wakes a waiting long poll at the next event, and not after it was cancelled', () => {
    const { feed: f } = feed();
    let woken = 0;
    const waiter = f.onNext(() => woken++);
    f.applied(set(1));
    expect(woken).toBe(1);
    f.onNext(waiter);
    f.cancel(waiter);
    f.applied(set(2));
    expect(woken).toBe(1);
  });
});
