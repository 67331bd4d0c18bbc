import { describe, expect, it } from 'vitest';
import { Raft } from './raft.ts';
import { noJitter } from './testing/network.ts';

/** A lone voter n1 and a learner n2, neither with PreVote nor CheckQuorum. */
function loneVoterWithLearner(): Map<string, Raft> {
  const options = { voters: ['n1'], learners: ['n2'], random: noJitter, preVote: false, checkQuorum: false };
  return new Map([
    ['n1', new Raft({ ...options, id: 'n1' })],
    ['n2', new Raft({ ...options, id: 'n2' })],
  ]);
}

/** Ticks every node `ticks` times, delivering every message (to n1 and n2 only) after each tick. */
function run(nodes: Map<string, Raft>, ticks: number): void {
  const deliverAll = (): void => {
    for (let pending = true; pending;) {
      pending = false;
      for (const raft of nodes.values()) {
        for (const m of raft.ready().messages) {
          pending = true;
          nodes.get(m.to)?.step(m);
        }
      }
    }
  };
  for (let i = 0; i < ticks; i++) {
    for (const raft of nodes.values()) raft.tick();
    deliverAll();
  }
}

describe('a member whose term is ahead of the leader', () => {
  it('is brought in without PreVote or CheckQuorum, though it cannot campaign itself', () => {
    const nodes = loneVoterWithLearner();
    const n1 = nodes.get('n1')!;
    const n2 = nodes.get('n2')!;
    run(nodes, 2 * n1.config.electionTicks);
    expect(n1).toMatchObject({ role: 'leader', term: 1 });
    expect(n2).toMatchObject({ leader: 'n1', term: 1 });

    // A node outside the configuration (a removed one that still holds its own removal) campaigns at
    // term 7: the learner takes the term, and drops the leader's term-1 appends from then on.
    n2.step({ type: 'vote', from: 'n3', to: 'n2', term: 7, lastIndex: 0, lastTerm: 0, transfer: false });
    expect(n2.term).toBe(7);

    run(nodes, 4 * n1.config.electionTicks);
    // The answer to a stale append tells the leader the newer term (Raft §5.1); it steps down and, the one
    // voter, is elected again in a term the learner follows.
    expect(n1.role).toBe('leader');
    expect(n1.term).toBeGreaterThan(7);
    expect(n2).toMatchObject({ leader: 'n1', term: n1.term });
  });
});
