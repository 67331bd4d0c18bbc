import { describe, expect, it } from 'vitest';
import { TestNetwork } from './testing/network.ts';

const ids = ['n1', 'n2', 'n3'];

/** n1 leads term 1; n3 is cut off while the others commit two more entries, then times out many times. */
function partitionedRejoin(options: { preVote: boolean; checkQuorum: boolean }) {
  const net = new TestNetwork(ids, options);
  net.campaign('n1');
  net.isolate('n3');
  net.propose('n1', 'a');
  net.propose('n1', 'b');
  net.deliverAll();
  net.tick('n3', 50);
  net.deliverAll();
  const whileCut = { term: net.raft('n3').term, role: net.raft('n3').role };
  net.heal();
  // n3 times out once more, now heard by everyone; then the leader, if it still leads, sends a heartbeat.
  net.tick('n3', net.raft('n3').config.electionTicks);
  net.deliverAll();
  if (net.raft('n1').role === 'leader') net.tick('n1');
  net.deliverAll();
  return { net, whileCut };
}

describe('PreVote', () => {
  it.each([{ checkQuorum: false }, { checkQuorum: true }])(
    'a partitioned node never raises its term, and rejoins without disturbing the leader (%o)',
    ({ checkQuorum }) => {
      const { net, whileCut } = partitionedRejoin({ preVote: true, checkQuorum });
      expect(whileCut).toEqual({ term: 1, role: 'pre-candidate' });
      for (const id of ids) expect(net.raft(id)).toMatchObject({ term: 1, leader: 'n1' });
      expect(net.appliedData('n3')).toEqual(['a', 'b']);
    },
  );

  it('without it, the rejoining node forces an election in a higher term', () => {
    const { net, whileCut } = partitionedRejoin({ preVote: false, checkQuorum: false });
    expect(whileCut.role).toBe('candidate');
    expect(whileCut.term).toBe(6);
    // Its log is behind, so it cannot win, but its term deposed the leader.
    for (const id of ids) expect(net.raft(id)).toMatchObject({ role: 'follower', term: 7, leader: null });
  });

  it('a pre-candidate changes no persistent state', () => {
    const net = new TestNetwork(ids);
    const n1 = net.raft('n1');
    for (let i = 0; i < n1.config.electionTicks; i++) n1.tick();
    expect(n1.role).toBe('pre-candidate');
    const ready = n1.ready();
    expect(ready.hardState).toBeNull();
    expect(ready.messages).toMatchObject([
      { type: 'pre-vote', to: 'n2', term: 1 },
      { type: 'pre-vote', to: 'n3', term: 1 },
    ]);
    expect(n1).toMatchObject({ term: 0, vote: null });
  });

  it('a granted pre-vote leaves the voter unchanged', () => {
    const net = new TestNetwork(ids);
    const n1 = net.raft('n1');
    const n2 = net.raft('n2');
    for (let i = 0; i < n1.config.electionTicks; i++) n1.tick();
    n2.step(n1.ready().messages[0]!);
    expect(n2.ready()).toMatchObject({
      hardState: null,
      messages: [{ type: 'pre-vote-response', to: 'n1', term: 1, granted: true }],
    });
    expect(n2).toMatchObject({ term: 0, vote: null });
  });
});
