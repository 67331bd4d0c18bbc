import { describe, expect, it } from 'vitest';
import type { RaftTestOnlyBugs } from './config.ts';
import type { Message } from './types.ts';
import { TestNetwork } from './testing/network.ts';

const between = (a: string, b: string) => (m: Message) =>
  (m.from === a && m.to === b) || (m.from === b && m.to === a);

/**
 * a leads term 1 and is cut off with x1..x3 uncommitted; b wins term 2 with c and commits a no-op, y1 and
 * y2 at those indexes; c restarts without memory and takes a's log; then b's heartbeat offers commit 5
 * (from c's previous process's match).
 */
function staleLeaderThenHeartbeat(testOnlyBugs?: RaftTestOnlyBugs): TestNetwork {
  const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: false, testOnlyBugs });
  net.campaign('a');
  net.propose('a', 's');
  net.deliverAll();
  net.isolate('a');
  for (const x of ['x1', 'x2', 'x3']) net.propose('a', x);
  net.campaign('b');
  expect(net.raft('b')).toMatchObject({ role: 'leader', term: 2 });
  for (const y of ['y1', 'y2']) net.propose('b', y);
  net.deliverAll();
  expect(net.raft('b').log.committed).toBe(5);

  net.restartWithoutMemory('c', 'c.2');
  net.heal();
  net.dropIf(between('a', 'b'));
  net.tick('a');
  net.deliverAll();
  expect(net.raft('c').log.lastIndex()).toBe(5);
  expect(net.raft('c').log.term(5)).toBe(1);

  net.tick('b');
  const [heartbeat] = net.take((m) => m.from === 'b' && m.to === 'c' && m.type === 'heartbeat');
  expect(heartbeat).toMatchObject({ term: 2, commit: 5 });
  net.deliver(heartbeat!);
  return net;
}

/**
 * A follower commits only what an append from the current leader in the current term verified: the
 * leader's match for it may be a previous process's, and its log may come from a stale leader.
 */
describe('a follower commits only what it verified against the current leader', () => {
  it("does not apply the stale leader's entries on the new leader's heartbeat", () => {
    const net = staleLeaderThenHeartbeat();
    expect(net.appliedData('c')).toEqual(['s']);
  });

  it("then takes the new leader's log and applies what it committed", () => {
    const net = staleLeaderThenHeartbeat();
    net.deliverAll();
    expect(net.appliedData('c')).toEqual(['s', 'y1', 'y2']);
  });

  it('with testOnlyBugs.commitOnStaleMatch, applies entries no majority ever stored', () => {
    const net = staleLeaderThenHeartbeat({ commitOnStaleMatch: true });
    expect(net.appliedData('c')).toEqual(['s', 'x1', 'x2', 'x3']);
  });

  it('a follower restarted with its log commits on the next heartbeat, with the cluster idle', () => {
    const net = new TestNetwork(['n1', 'n2', 'n3']);
    net.campaign('n1');
    // n3 stores the entry but never hears that it is committed.
    net.dropIf((m) => m.to === 'n3' && m.type === 'heartbeat');
    net.propose('n1', 'a');
    net.deliverAll();
    expect(net.raft('n3').log).toMatchObject({ committed: 1 });
    net.heal();
    net.restart('n3');
    net.tick('n1');
    net.deliverAll();
    expect(net.appliedData('n3')).toEqual(['a']);
  });
});
