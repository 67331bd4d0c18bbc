import { describe, expect, it } from 'vitest';
import type { RaftTestOnlyBugs } from './config.ts';
import { Raft } from './raft.ts';
import { SeededRandom } from './random.ts';
import { TestNetwork } from './testing/network.ts';
import type { HeartbeatMessage, Message, ReadIndexMessage, ReadIndexResponseMessage } from './types.ts';

const ids3 = ['n1', 'n2', 'n3'];
const ids5 = ['n1', 'n2', 'n3', 'n4', 'n5'];
const isHeartbeat = (m: Message): m is HeartbeatMessage => m.type === 'heartbeat';

describe('ReadIndex on the leader', () => {
  it('answers only after a majority acknowledged a heartbeat sent after the read arrived', () => {
    const net = new TestNetwork(ids5);
    net.campaign('n1');
    net.propose('n1', 'x');
    net.deliverAll();
    const n1 = net.raft('n1');
    n1.readIndex(1);
    net.flush();
    const round = net.take(isHeartbeat) as HeartbeatMessage[];
    expect(round.map((m) => m.to)).toEqual(['n2', 'n3', 'n4', 'n5']);
    expect(new Set(round.map((m) => m.readRound)).size).toBe(1);

    net.deliver(round[0]!);
    net.deliverAll();
    expect(net.readStates.get('n1')).toEqual([]);
    net.deliver(round[1]!);
    net.deliverAll();
    // The read sees everything committed when it arrived.
    expect(net.readStates.get('n1')).toEqual([{ requestId: 1, index: 2 }]);
  });

  it('confirms many reads with one heartbeat round', () => {
    const net = new TestNetwork(ids3);
    net.campaign('n1');
    const n1 = net.raft('n1');
    for (let id = 1; id <= 10; id++) n1.readIndex(id);
    net.flush();
    expect(net.queue.filter(isHeartbeat)).toHaveLength(2);
    net.deliverAll();
    expect(net.readStates.get('n1')!.map((s) => s.requestId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(net.delivered.filter((m) => isHeartbeat(m) && m.readRound === 1)).toHaveLength(2);
  });

  it('waits until the new leader has committed an entry of its own term', () => {
    const net = new TestNetwork(ids3);
    net.dropIf((m) => m.type === 'append-response');
    net.campaign('n1');
    const n1 = net.raft('n1');
    expect(n1.role).toBe('leader');
    expect(n1.log.committed).toBe(0);
    n1.readIndex(1);
    expect(n1.ready()).toMatchObject({ messages: [], readStates: [] });

    net.heal();
    net.tick('n1');
    net.deliverAll();
    expect(n1.log.committed).toBe(1);
    expect(net.readStates.get('n1')).toEqual([{ requestId: 1, index: 1 }]);
  });

  it('drops the reads it cannot answer when it loses leadership', () => {
    const net = new TestNetwork(ids3);
    net.campaign('n1');
    const n1 = net.raft('n1');
    n1.readIndex(1);
    n1.ready();
    n1.step({ type: 'heartbeat', from: 'n2', to: 'n1', term: 2, commit: 0, readRound: 0 });
    expect(n1.ready().droppedReads).toEqual([1]);
  });
});

describe('ReadIndex from a follower', () => {
  it('asks the leader, which confirms its leadership and returns its commit index', () => {
    const net = new TestNetwork(ids3);
    net.campaign('n1');
    net.propose('n1', 'x');
    net.deliverAll();
    net.raft('n2').readIndex(7);
    net.deliverAll();
    expect(net.delivered.map((m) => m.type)).toContain('read-index');
    expect(net.readStates.get('n2')).toEqual([{ requestId: 7, index: 2 }]);
    expect(net.readStates.get('n1')).toEqual([]);
  });

  it('drops the read at once when it knows no leader', () => {
    const net = new TestNetwork(ids3);
    const n2 = net.raft('n2');
    n2.readIndex(7);
    expect(n2.ready()).toMatchObject({ droppedReads: [7], messages: [] });
  });
});

/** n1 leads a 2-voter cluster, appends its removal; n2 stores it, leads alone and commits `new`. */
function removedLeaderRead(testOnlyBugs?: RaftTestOnlyBugs): TestNetwork {
  const net = new TestNetwork(['n1', 'n2'], { testOnlyBugs });
  net.campaign('n1');
  net.propose('n1', 's');
  net.deliverAll();
  const n1 = net.raft('n1');
  expect(n1.proposeConfigChange({ type: 'remove', id: 'n1' })).toMatchObject({ ok: true });
  net.dropIf((m) => m.type === 'append-response');
  net.deliverAll();
  net.heal();
  net.isolate('n2');
  net.campaign('n2');
  expect(net.raft('n2')).toMatchObject({ role: 'leader', term: 2 });
  net.propose('n2', 'new');
  expect(net.raft('n2').log.committed).toBe(5);
  expect(n1).toMatchObject({ role: 'leader', term: 1 });
  n1.readIndex(1);
  net.flush();
  return net;
}

describe('ReadIndex on a leader that appended its own removal', () => {
  it('does not answer alone: the one voter left must confirm', () => {
    expect(removedLeaderRead().readStates.get('n1')).toEqual([]);
  });

  it('with testOnlyBugs.singleVoterReadWithoutMembership, answers a stale read at once', () => {
    const net = removedLeaderRead({ singleVoterReadWithoutMembership: true });
    expect(net.readStates.get('n1')).toEqual([{ requestId: 1, index: 2 }]);
  });
});

const heartbeatFromN1 = {
  type: 'heartbeat',
  from: 'n1',
  to: 'n2',
  term: 1,
  commit: 0,
  readRound: 0,
} as const;

/** A follower process of n2 that knows n1 leads, and the nonce its read-index request carries. */
function follower(seed: number): { n2: Raft; nonce: number } {
  const n2 = new Raft({ id: 'n2', voters: ids3, random: new SeededRandom(seed) });
  n2.step(heartbeatFromN1);
  n2.readIndex(1);
  const request = n2.ready().messages.find((m) => m.type === 'read-index');
  expect(request).toMatchObject({ to: 'n1', requestId: 1 });
  return { n2, nonce: (request as ReadIndexMessage).nonce };
}

const answer = (nonce: number): ReadIndexResponseMessage => ({
  type: 'read-index-response',
  from: 'n1',
  to: 'n2',
  term: 1,
  requestId: 1,
  nonce,
  index: 7,
});

describe('read-index answers across a restart of the requester', () => {
  it("ignores the answer to the previous process's request with the same id", () => {
    const before = follower(1);
    const after = follower(2);
    after.n2.step(answer(before.nonce));
    expect(after.n2.ready().readStates).toEqual([]);
    expect(after.nonce).not.toBe(before.nonce);
    after.n2.step(answer(after.nonce));
    expect(after.n2.ready().readStates).toEqual([{ requestId: 1, index: 7 }]);
  });
});
