import { describe, expect, it } from 'vitest';
import { TestNetwork } from './testing/network.ts';
import type { HeartbeatMessage, Message } from './types.ts';

const ids = ['n1', 'n2', 'n3'];
const isHeartbeat = (m: Message): m is HeartbeatMessage => m.type === 'heartbeat';

/** n1 leads a 3-node group with one committed write, every follower caught up and heard from. */
function settled(options: { quiesce?: boolean } = {}): TestNetwork {
  const net = new TestNetwork(ids, { checkQuorum: true, quiesce: true, ...options });
  net.campaign('n1');
  net.propose('n1', 'x');
  net.deliverAll();
  return net;
}

/** Ticks each live node in turn and delivers what it caused, `rounds` times. */
function run(net: TestNetwork, rounds: number, alive: readonly string[] = ids): void {
  for (let i = 0; i < rounds; i++) {
    for (const id of alive) {
      net.tick(id);
      net.deliverAll();
    }
  }
}

const quiet = (net: TestNetwork) => ids.map((id) => net.raft(id).quiesced);

describe('Quiescence', () => {
  it('an idle leader with caught-up followers sends one quiesce heartbeat; then the group is silent', () => {
    const net = settled();
    const n1 = net.raft('n1');
    net.tick('n1');
    const last = n1.log.lastIndex();
    expect(net.queue).toEqual([
      expect.objectContaining({ type: 'heartbeat', to: 'n2', commit: last, quiesce: true }),
      expect.objectContaining({ type: 'heartbeat', to: 'n3', commit: last, quiesce: true }),
    ]);
    net.deliverAll();
    // The followers go quiet without answering.
    expect(net.delivered.slice(-2).map((m) => m.type)).toEqual(['heartbeat', 'heartbeat']);
    expect(quiet(net)).toEqual([true, true, true]);
    const delivered = net.delivered.length;
    run(net, 10 * n1.config.electionTicks);
    expect(net.delivered.length).toBe(delivered);
    expect(ids.map((id) => [net.raft(id).role, net.raft(id).term])).toEqual([
      ['leader', 1],
      ['follower', 1],
      ['follower', 1],
    ]);
  });

  it('is off unless configured: the leader heartbeats every tick', () => {
    const net = settled({ quiesce: false });
    run(net, 5);
    expect(quiet(net)).toEqual([false, false, false]);
    expect(net.delivered.filter(isHeartbeat).slice(-2)).not.toContainEqual(
      expect.objectContaining({ quiesce: true }),
    );
    net.tick('n1');
    expect(net.queue.filter(isHeartbeat)).toHaveLength(2);
  });

  it('a leader does not go quiet while a follower lacks entries', () => {
    const net = settled();
    net.dropIf((m) => m.to === 'n3');
    net.propose('n1', 'y');
    net.deliverAll();
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      const heartbeats = net.queue.filter(isHeartbeat);
      expect(heartbeats.map((m) => [m.to, m.quiesce])).toEqual([['n2', undefined]]);
      net.deliverAll();
    }
    expect(quiet(net)).toEqual([false, false, false]);
  });

  it('a follower that does not hold the whole log answers the quiesce heartbeat and stays awake', () => {
    const net = settled();
    const n2 = net.raft('n2');
    const beyond = n2.log.lastIndex() + 1;
    net.deliver({
      type: 'heartbeat',
      from: 'n1',
      to: 'n2',
      term: 1,
      commit: beyond,
      readRound: 0,
      quiesce: true,
    });
    expect(n2.quiesced).toBe(false);
    expect(net.queue).toContainEqual(
      expect.objectContaining({ type: 'heartbeat-response', from: 'n2', to: 'n1' }),
    );
  });

  it('a proposal wakes the group, commits on every node, and the group goes quiet again', () => {
    const net = settled();
    run(net, 1);
    expect(quiet(net)).toEqual([true, true, true]);
    net.propose('n1', 'y');
    expect(net.raft('n1').quiesced).toBe(false);
    net.deliverAll();
    for (const id of ids) expect(net.appliedData(id)).toContain('y');
    run(net, 3);
    expect(quiet(net)).toEqual([true, true, true]);
  });

  it('a read on a quiet leader waits for a fresh heartbeat round from a majority', () => {
    const net = settled();
    run(net, 1);
    const n1 = net.raft('n1');
    n1.readIndex(7);
    net.flush();
    const round = net.take(isHeartbeat) as HeartbeatMessage[];
    expect(round.map((m) => [m.to, m.quiesce])).toEqual([
      ['n2', undefined],
      ['n3', undefined],
    ]);
    expect(net.readStates.get('n1')).toEqual([]);
    net.deliver(round[0]!);
    net.deliverAll();
    expect(net.readStates.get('n1')).toEqual([{ requestId: 7, index: n1.log.committed }]);
  });

  it('a quiet leader cut off from its followers serves no read', () => {
    const net = settled();
    run(net, 1);
    net.isolate('n1');
    const n1 = net.raft('n1');
    n1.readIndex(7);
    run(net, 3 * n1.config.electionTicks, ['n1']);
    expect(net.readStates.get('n1')).toEqual([]);
  });

  it('CheckQuorum still deposes a quiet leader cut off from its quorum once its peers are reported silent', () => {
    const net = settled();
    run(net, 1);
    net.isolate('n1');
    const n1 = net.raft('n1');
    // Quiet, it does not check its quorum by itself: the host's per-peer liveness is what wakes it.
    run(net, 3 * n1.config.electionTicks, ['n1']);
    expect(n1.role).toBe('leader');
    n1.peerUnreachable('n2');
    n1.peerUnreachable('n3');
    expect(n1.quiesced).toBe(false);
    // Within one full CheckQuorum window after waking, as without quiescence: it must hear from them anew.
    run(net, n1.config.electionTicks, ['n1']);
    expect(n1).toMatchObject({ role: 'follower', leader: null });
  });

  it("quiet followers told that their leader's node is silent elect a new leader", () => {
    const net = settled();
    run(net, 1);
    net.crash('n1');
    const survivors = ['n2', 'n3'];
    // Quiet, they would wait forever.
    run(net, 5 * net.raft('n2').config.electionTicks, survivors);
    expect(survivors.map((id) => net.raft(id).leader)).toEqual(['n1', 'n1']);
    for (const id of survivors) net.raft(id).peerUnreachable('n1');
    run(net, 3 * net.raft('n2').config.electionTicks, survivors);
    const leaders = survivors.filter((id) => net.raft(id).role === 'leader');
    expect(leaders).toHaveLength(1);
    expect(net.raft('n2').term).toBe(2);
  });

  it('a report of a peer that neither leads nor follows the group leaves it quiet', () => {
    const net = settled();
    run(net, 1);
    net.raft('n2').peerUnreachable('n3');
    expect(quiet(net)).toEqual([true, true, true]);
  });

  it('a quiet follower woken by a stray message does not disrupt a live leader', () => {
    const net = settled();
    run(net, 1);
    const n3 = net.raft('n3');
    // A stale-term message from a long-gone process wakes n3, which then hears no heartbeat.
    net.deliver({ type: 'timeout-now', from: 'n2', to: 'n3', term: 0 });
    expect(n3.quiesced).toBe(false);
    run(net, 4 * n3.config.electionTicks);
    // Its pre-vote woke the leader, whose lease refused it; the group is quiet again under n1, term 1.
    expect(ids.map((id) => [net.raft(id).leader, net.raft(id).term])).toEqual([
      ['n1', 1],
      ['n1', 1],
      ['n1', 1],
    ]);
    expect(quiet(net)).toEqual([true, true, true]);
  });
});
