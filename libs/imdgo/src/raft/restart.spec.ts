import { describe, expect, it } from 'vitest';
import { Raft } from './raft.ts';
import { entriesOfTerms, noJitter, TestNetwork } from './testing/network.ts';
import type { RaftTestOnlyBugs, VoteMessage } from './index.ts';

const ids = ['n1', 'n2', 'n3'];

const request = (from: string): VoteMessage => ({
  type: 'vote',
  from,
  to: 'n1',
  term: 5,
  lastIndex: 0,
  lastTerm: 0,
  transfer: false,
});

/** n1 votes for n2 in term 5, restarts from what it persisted, then hears n3 ask in term 5. */
function voteRestartVote(testOnlyBugs?: RaftTestOnlyBugs): boolean {
  const options = {
    id: 'n1',
    voters: ids,
    random: noJitter,
    preVote: false,
    checkQuorum: false,
    testOnlyBugs,
  };
  const before = new Raft(options);
  before.step(request('n2'));
  const { hardState, entries } = before.ready();
  const after = new Raft(options, { hardState: hardState!, entries });
  after.step(request('n3'));
  return after.ready().messages.some((m) => m.type === 'vote-response' && m.granted);
}

describe('restart from persisted state', () => {
  it('comes back a follower with its term, vote, log and commit index, and re-applies the committed log', () => {
    const net = new TestNetwork(ids);
    net.campaign('n1');
    net.propose('n1', 'a');
    net.propose('n1', 'b');
    net.deliverAll();
    const before = net.raft('n1');
    const n1 = net.restart('n1');
    expect(n1).toMatchObject({ role: 'follower', leader: null, term: before.term, vote: 'n1' });
    expect(n1.log.lastIndex()).toBe(3);
    expect(n1.log.committed).toBe(3);
    const ready = n1.ready();
    expect(ready.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(ready.hardState).toBeNull();
    expect(ready.entries).toEqual([]);
  });

  it('a restarted follower catches up on what it missed while down', () => {
    const net = new TestNetwork(ids);
    net.campaign('n1');
    net.crash('n3');
    net.propose('n1', 'a');
    net.deliverAll();
    net.restart('n3');
    net.tick('n1');
    net.deliverAll();
    expect(net.appliedData('n3')).toEqual(['a']);
    expect(net.raft('n3')).toMatchObject({ term: 1, leader: 'n1' });
  });

  it('never trusts a commit index beyond its stored log', () => {
    const n1 = new Raft(
      { id: 'n1', voters: ids, random: noJitter },
      { hardState: { term: 2, vote: null, commit: 9 }, entries: entriesOfTerms([1, 2]) },
    );
    expect(n1.log.committed).toBe(2);
  });

  describe('the vote survives a restart (one vote per term)', () => {
    it('refuses a second candidate in the same term after a restart', () => {
      expect(voteRestartVote()).toBe(false);
    });

    it('with testOnlyBugs.forgetVoteOnRestart, votes twice in one term', () => {
      expect(voteRestartVote({ forgetVoteOnRestart: true })).toBe(true);
    });
  });
});
