import { describe, expect, it } from 'vitest';
import { systemScheduler } from '../driver/scheduler.ts';
import { createPartitionTable } from '../partition/partition-table.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import { FeedFollower } from './feed-follower.ts';
import type { FeedAnswer, GridEventsRequest } from './grid-wire.ts';
import { PartitionFeed } from './partition-feed.ts';

const set = (revision: number): ChangeEvent => ({
  type: 'set',
  map: 'm',
  key: `k${revision}`,
  value: revision,
  previous: undefined,
  revision,
});

/** A follower on node a of a 2-partition table over a, b, c (every one a replica), whose peers answer `serve`. */
function follower(serve: (to: string, from: number) => FeedAnswer): {
  follower: FeedFollower;
  asked: string[];
} {
  const asked: string[] = [];
  const transport = {
    request: async (to: string, payload: unknown) => {
      const [[, from]] = (payload as GridEventsRequest).polls as [[number, number]];
      asked.push(`${to}@${from}`);
      return { answers: [serve(to, from)] };
    },
  } as unknown as PeerTransport;
  const table = createPartitionTable(2, ['a', 'b', 'c'], 3);
  return {
    asked,
    follower: new FeedFollower({
      self: 'a',
      transport,
      scheduler: systemScheduler,
      feeds: [0, 1].map(() => new PartitionFeed(10, () => {})),
      table: () => table,
      hosts: () => false,
      adopt: () => {},
      waitMs: 10,
      retryMs: 10,
    }),
  };
}

describe('FeedFollower.replay', () => {
  it('reads the revisions asked for from a replica, a page at a time, and goes to the next one that retains them', async () => {
    const { follower: f, asked } = follower((to, from) => {
      if (to === 'b') return { compacted: 3 };
      const events = [1, 2, 4, 6, 7]
        .filter((r) => r >= from)
        .slice(0, 2)
        .map(set);
      return { events, last: 7 };
    });
    const replayed = await f.replay(0, 1, 6);
    expect(replayed?.map((e) => e.revision)).toEqual([1, 2, 4, 6]);
    // b answers "compacted" (if asked at all): c is asked, a page at a time from the revision reached.
    expect(asked.filter((a) => a.startsWith('c'))).toEqual(['c@1', 'c@3']);
    expect(asked.filter((a) => a.startsWith('b')).length).toBeLessThanOrEqual(1);
  });

  it('ends where the replica has no more events up to the revision asked for (not every revision has some)', async () => {
    const { follower: f } = follower(() => ({ events: [], last: 12 }));
    expect(await f.replay(1, 5, 10)).toEqual([]);
  });

  it('is null when every replica has compacted the revisions asked for', async () => {
    const { follower: f } = follower(() => ({ compacted: 9 }));
    expect(await f.replay(0, 1, 10)).toBeNull();
  });
});
