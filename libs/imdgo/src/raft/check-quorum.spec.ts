import { describe, expect, it } from 'vitest';
import { Raft } from './raft.ts';
import type { RandomSource } from './random.ts';
import { TestNetwork } from './testing/network.ts';
import type { VoteMessage } from './types.ts';

const ids = ['n1', 'n2', 'n3'];
/** The longest randomized timeout, 2 × electionTicks - 1: the lease runs out well before the node campaigns. */
const maxJitter: RandomSource = { int: (n) => n - 1 };

const request: VoteMessage = {
  type: 'vote',
  from: 'n3',
  to: 'n2',
  term: 2,
  lastIndex: 10,
  lastTerm: 1,
  transfer: false,
};
function followerOf(leader: string, checkQuorum: boolean): Raft {
  const n2 = new Raft({ id: 'n2', voters: ids, random: maxJitter, preVote: false, checkQuorum });
  n2.step({ type: 'heartbeat', from: leader, to: 'n2', term: 1, commit: 0, readRound: 0 });
  n2.ready();
  return n2;
}

describe('CheckQuorum', () => {
  it('a leader cut off from the majority steps down at the end of its first silent election timeout', () => {
    const net = new TestNetwork(ids, { checkQuorum: true });
    net.campaign('n1');
    const n1 = net.raft('n1');
    const timeout = n1.config.electionTicks;
    // A full window in which everyone answered: the check at its end passes.
    net.tick('n1', timeout - 1);
    net.deliverAll();
    net.tick('n1');
    expect(n1).toMatchObject({ role: 'leader', electionElapsed: 0 });

    net.isolate('n1');
    net.tick('n1', timeout - 1);
    expect(n1.role).toBe('leader');
    net.tick('n1');
    expect(n1).toMatchObject({ role: 'follower', term: 1, leader: null });
  });

  it('a leader that hears from a majority stays, however many others are gone', () => {
    const net = new TestNetwork(['n1', 'n2', 'n3', 'n4', 'n5'], { checkQuorum: true });
    net.campaign('n1');
    net.crash('n4');
    net.crash('n5');
    for (let i = 0; i < 10 * net.raft('n1').config.electionTicks; i++) {
      net.tick('n1');
      net.deliverAll();
    }
    expect(net.raft('n1')).toMatchObject({ role: 'leader', term: 1 });
  });

  it('without it, a cut-off leader keeps leading', () => {
    const net = new TestNetwork(ids, { checkQuorum: false });
    net.campaign('n1');
    net.isolate('n1');
    net.tick('n1', 10 * net.raft('n1').config.electionTicks);
    expect(net.raft('n1').role).toBe('leader');
  });

  describe('the lease: a node that heard from its leader within an election timeout ignores candidates', () => {
    it('ignores a vote request of a higher term while in lease', () => {
      const n2 = followerOf('n1', true);
      n2.step(request);
      expect(n2.hasReady()).toBe(false);
      expect(n2).toMatchObject({ term: 1, leader: 'n1', vote: null });
    });

    it('grants it once the leader has been silent for an election timeout', () => {
      const n2 = followerOf('n1', true);
      for (let i = 0; i < n2.config.electionTicks; i++) n2.tick();
      expect(n2.role).toBe('follower');
      n2.step(request);
      expect(n2.ready().messages).toMatchObject([
        { type: 'vote-response', to: 'n3', term: 2, granted: true },
      ]);
      expect(n2).toMatchObject({ term: 2, vote: 'n3' });
    });

    it('grants it at once without CheckQuorum', () => {
      const n2 = followerOf('n1', false);
      n2.step(request);
      expect(n2.ready().messages).toMatchObject([{ granted: true }]);
    });

    it('the leader ignores it too', () => {
      const net = new TestNetwork(ids, { checkQuorum: true });
      net.campaign('n1');
      const n1 = net.raft('n1');
      n1.step({ ...request, to: 'n1' });
      expect(n1.hasReady()).toBe(false);
      expect(n1).toMatchObject({ role: 'leader', term: 1 });
    });

    it('a leadership transfer overrides it', () => {
      const n2 = followerOf('n1', true);
      n2.step({ ...request, transfer: true });
      expect(n2.ready().messages).toMatchObject([{ granted: true }]);
    });
  });

  it('a stale leader learns the higher term from the answer to its heartbeat', () => {
    const net = new TestNetwork(ids, { checkQuorum: true });
    net.campaign('n1');
    const n2 = net.raft('n2');
    n2.step({ type: 'vote', from: 'n3', to: 'n2', term: 7, lastIndex: 5, lastTerm: 5, transfer: true });
    n2.ready();
    net.tick('n1');
    net.deliverAll();
    expect(net.raft('n1')).toMatchObject({ role: 'follower', term: 7 });
  });
});
