import { describe, expect, it } from 'vitest';
import type { RaftOptions } from './config.ts';
import { encodeConfig } from './membership.ts';
import { Raft, type RaftRestoreState } from './raft.ts';
import { entriesOfTerms, noJitter, TestNetwork } from './testing/network.ts';
import type { Message, VoteMessage } from './types.ts';

const ids3 = ['n1', 'n2', 'n3'];
const ids5 = ['n1', 'n2', 'n3', 'n4', 'n5'];

function voteRequest(from: string, to: string, fields: Partial<VoteMessage> = {}): VoteMessage {
  return { type: 'vote', from, to, term: 1, lastIndex: 0, lastTerm: 0, transfer: false, ...fields };
}

/** A lone follower, fed messages by hand; `preVote` and `checkQuorum` off unless asked for. */
function follower(options: Partial<RaftOptions> = {}, restore?: RaftRestoreState): Raft {
  return new Raft(
    { id: 'n1', voters: ids3, random: noJitter, preVote: false, checkQuorum: false, ...options },
    restore,
  );
}

function responses(raft: Raft): readonly Message[] {
  return raft.ready().messages;
}

describe('leader election', () => {
  it('a single node elects itself and commits its no-op at once', () => {
    const net = new TestNetwork(['n1']);
    net.campaign('n1');
    const n1 = net.raft('n1');
    expect(n1.role).toBe('leader');
    expect(n1.term).toBe(1);
    expect(n1.log.committed).toBe(1);
    expect(net.applied.get('n1')!.map((e) => e.kind)).toEqual(['noop']);
  });

  it.each([
    [3, ids3],
    [5, ids5],
  ])('%i nodes elect the first node to time out, and everyone learns it', (_, ids) => {
    const net = new TestNetwork(ids);
    net.campaign('n1');
    for (const id of ids) {
      expect(net.raft(id)).toMatchObject({ term: 1, leader: 'n1' });
      expect(net.raft(id).log.committed).toBe(1);
    }
    expect(net.raft('n1').role).toBe('leader');
  });

  it('a majority suffices: 5 nodes elect a leader with two down, not with three', () => {
    const net = new TestNetwork(ids5);
    net.crash('n4');
    net.crash('n5');
    net.campaign('n1');
    expect(net.raft('n1').role).toBe('leader');

    const net2 = new TestNetwork(ids5, { preVote: false });
    for (const id of ['n3', 'n4', 'n5']) net2.crash(id);
    net2.campaign('n1');
    expect(net2.raft('n1').role).toBe('candidate');
  });

  it('a candidate that a majority rejects returns to follower', () => {
    const restore = { hardState: { term: 1, vote: null, commit: 0 }, entries: entriesOfTerms([1, 1]) };
    const net = new TestNetwork(ids3, { preVote: false }, { n2: restore, n3: restore });
    net.campaign('n1');
    expect(net.raft('n1')).toMatchObject({ role: 'follower', term: 1, leader: null });
  });

  it('a leader steps down when it hears of a higher term', () => {
    const net = new TestNetwork(ids3);
    net.campaign('n1');
    const n1 = net.raft('n1');
    n1.step({
      type: 'append-response',
      from: 'n2',
      to: 'n1',
      term: 5,
      success: false,
      index: 0,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(n1).toMatchObject({ role: 'follower', term: 5, leader: null });
  });
});

describe('vote granting', () => {
  it('grants one vote per term, and repeats it to the same candidate', () => {
    const n1 = follower();
    n1.step(voteRequest('n2', 'n1'));
    expect(responses(n1)).toMatchObject([{ type: 'vote-response', to: 'n2', term: 1, granted: true }]);
    expect(n1.vote).toBe('n2');

    n1.step(voteRequest('n3', 'n1'));
    expect(responses(n1)).toMatchObject([{ type: 'vote-response', to: 'n3', granted: false }]);

    n1.step(voteRequest('n2', 'n1'));
    expect(responses(n1)).toMatchObject([{ type: 'vote-response', to: 'n2', granted: true }]);
  });

  it('persists the vote before the response goes out', () => {
    const n1 = follower();
    n1.step(voteRequest('n2', 'n1'));
    const ready = n1.ready();
    expect(ready.hardState).toEqual({ term: 1, vote: 'n2', commit: 0 });
    expect(ready.messages).toHaveLength(1);
  });

  it('a new term frees the vote', () => {
    const n1 = follower();
    n1.step(voteRequest('n2', 'n1'));
    n1.step(voteRequest('n3', 'n1', { term: 2 }));
    expect(responses(n1).at(-1)).toMatchObject({ to: 'n3', term: 2, granted: true });
    expect(n1.vote).toBe('n3');
  });

  it.each([
    ['a lower last term, however long', { lastIndex: 10, lastTerm: 1 }, false],
    ['the same last term but a shorter log', { lastIndex: 2, lastTerm: 2 }, false],
    ['the same last term and length', { lastIndex: 3, lastTerm: 2 }, true],
    ['the same last term and a longer log', { lastIndex: 4, lastTerm: 2 }, true],
    ['a higher last term, however short', { lastIndex: 1, lastTerm: 3 }, true],
  ])('rejects a candidate whose log is behind (§5.4.1): %s', (_, log, granted) => {
    const n1 = follower(
      {},
      { hardState: { term: 2, vote: null, commit: 0 }, entries: entriesOfTerms([1, 2, 2]) },
    );
    n1.step(voteRequest('n2', 'n1', { term: 3, ...log }));
    expect(responses(n1)).toMatchObject([{ type: 'vote-response', granted }]);
    expect(n1.vote).toBe(granted ? 'n2' : null);
    expect(n1.term).toBe(3);
  });

  it('with testOnlyBugs.skipLogUpToDateCheck, grants a candidate whose log is behind', () => {
    const n1 = follower(
      { testOnlyBugs: { skipLogUpToDateCheck: true } },
      { hardState: { term: 2, vote: null, commit: 0 }, entries: entriesOfTerms([1, 2, 2]) },
    );
    n1.step(voteRequest('n2', 'n1', { term: 3, lastIndex: 10, lastTerm: 1 }));
    expect(responses(n1)).toMatchObject([{ granted: true }]);
  });

  it('ignores a vote request of a lower term', () => {
    const n1 = follower({}, { hardState: { term: 5, vote: null, commit: 0 }, entries: [] });
    n1.step(voteRequest('n2', 'n1', { term: 4 }));
    expect(n1.hasReady()).toBe(false);
    expect(n1).toMatchObject({ term: 5, vote: null });
  });

  it('a candidate rejects others in its own term: it voted for itself', () => {
    const n1 = follower();
    for (let i = 0; i < 10; i++) n1.tick();
    expect(n1).toMatchObject({ role: 'candidate', term: 1, vote: 'n1' });
    n1.ready();
    n1.step(voteRequest('n2', 'n1'));
    expect(responses(n1)).toMatchObject([{ type: 'vote-response', to: 'n2', granted: false }]);
  });
});

/** Two voters, static or seated by incarnation (these restart into discovery unless their log seats them). */
function twoVoters(seated: boolean): TestNetwork {
  if (!seated) return new TestNetwork(['n1', 'n2'], { checkQuorum: false });
  const seats = { n1: 'n1.1', n2: 'n2.1' };
  const config = { voters: ['n1', 'n2'], learners: [], incarnations: seats };
  const restore: RaftRestoreState = {
    hardState: { term: 0, vote: null, commit: 1 },
    entries: [{ index: 1, term: 0, kind: 'config', data: encodeConfig(config) }],
  };
  return new TestNetwork(['n1', 'n2'], { checkQuorum: false }, { n1: restore, n2: restore }, seats);
}

describe('a node holding its own uncommitted removal', () => {
  it.each([
    ['static members', false],
    ['members seated by incarnation', true],
  ])('campaigns to see it through when the voter left cannot win without it (%s)', (_, seated) => {
    const net = twoVoters(seated);
    net.campaign('n1');
    net.propose('n1', 's');
    net.deliverAll();
    // n1 appends its removal, which never reaches n2, and restarts: only n1's log holds it.
    net.dropIf((m) => m.to === 'n2');
    expect(net.raft('n1').proposeConfigChange({ type: 'remove', id: 'n1' })).toMatchObject({ ok: true });
    net.flush();
    net.heal();
    net.restart('n1');
    expect(net.raft('n1').isVoter()).toBe(false);

    const removalCommitted = () => {
      const n2 = net.raft('n2');
      return n2.membership.current.voters.join() === 'n2' && n2.membership.currentIndex <= n2.log.committed;
    };
    for (let tick = 0; tick < 100 && !removalCommitted(); tick++) {
      net.tick('n1');
      net.tick('n2');
      net.deliverAll();
    }
    expect(removalCommitted()).toBe(true);
    for (let tick = 0; tick < 100 && net.raft('n2').role !== 'leader'; tick++) {
      net.tick('n2');
      net.deliverAll();
    }
    expect(net.raft('n2').role).toBe('leader');
    expect(net.raft('n1').role).toBe('follower');
  });
  it('votes: a candidate whose log replaced that removal still counts it a voter', () => {
    const removal = { voters: ['n2', 'n3'], learners: [] };
    const n1 = follower(
      {},
      {
        hardState: { term: 1, vote: null, commit: 0 },
        entries: [{ index: 1, term: 1, kind: 'config', data: encodeConfig(removal) }],
      },
    );
    expect(n1.isVoter()).toBe(false);
    n1.step(voteRequest('n2', 'n1', { term: 3, lastIndex: 1, lastTerm: 2 }));
    expect(responses(n1)).toMatchObject([{ type: 'vote-response', to: 'n2', term: 3, granted: true }]);
    expect(n1.vote).toBe('n2');
  });
});
