import { describe, expect, it } from 'vitest';
import type { Raft } from './raft.ts';
import { DiscoveryNetwork } from './testing/discovery-network.ts';
import type { Message, NodeId } from './types.ts';

/**
 * Memory-mode discovery must not start a second cluster while the old one lives: each scenario holds the
 * coordinator's probe round up (a pause, a slow network) while members answer it fresh and then rejoin the
 * old cluster, so the answers it finds on resuming all say fresh. Found by a review; before the fix both
 * ended with two leaders committing writes the other never saw.
 */
describe('discovery: a second cluster beside one that lives', () => {
  it('is not formed from fresh answers given before members joined the old cluster (4 members)', () => {
    const ids = ['n1', 'n2', 'n3', 'n4'];
    const net = new DiscoveryNetwork(ids);
    for (const id of ids) net.start(id);
    net.runUntil(() => net.formed(), 'cluster');
    // n1 crashes; leader L removes it and shrinks to itself; the members removed stop.
    net.crash('n1');
    net.runUntil(() => net.leaders().length === 1, 'a leader without n1');
    const leader = net.leaders()[0]!;
    const [p, q] = ids.filter((id) => id !== 'n1' && id !== leader.id) as [NodeId, NodeId];
    net.changeConfig(leader, { type: 'remove', id: 'n1' });
    net.changeConfig(leader, { type: 'remove', id: p });
    net.crash(p);
    net.changeConfig(leader, { type: 'remove', id: q });
    net.crash(q);
    expect(leader.membership.current.voters).toEqual([leader.id]);

    // n1 restarts and hears of the cluster; its joins are lost on the way.
    net.drop = (m) => m.type === 'join' && m.from === 'n1';
    const n1 = net.start('n1');
    net.runUntil(() => n1.discovery!.joining, 'n1 hearing of the cluster');
    // p and q restart. n1 sends a probe round, then pauses; its probe to the leader is held up.
    net.start(p);
    net.start(q);
    const probes = nextProbeRound(n1);
    const heldUp = probes.filter((m) => m.to === leader.id);
    net.send(probes.filter((m) => m.to !== leader.id));
    net.pause('n1');
    // p and q answer n1 fresh, then rejoin as voters, and a write commits in {leader, p, q}.
    net.deliver();
    net.runUntil(
      () => [p, q].every((id) => leader.membership.current.voters.includes(id) && !net.raft(id).discovery),
      'p and q voters again',
    );
    net.propose(leader.id, 'during');
    net.runUntil(() => [p, q].every((id) => net.applied.get(id)!.includes('during')), 'the write applied');
    // The leader loses its memory, and its new process answers the held-up probe fresh.
    net.crash(leader.id);
    net.start(leader.id);
    net.send(heldUp);
    net.deliver();
    net.resume('n1');

    expectNoSecondCluster(net, n1);
    // p and q elect one of them, and every member joins that cluster, 'during' included.
    net.drop = () => false;
    net.runUntil(() => net.formed(), 'one cluster of every member');
    for (const id of ids) expect(net.applied.get(id)).toContain('during');
  });

  it('is not formed from fresh answers to a probe round held up across a rolling restart (5 members)', () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const others = ids.slice(1);
    const net = new DiscoveryNetwork(ids);
    for (const id of ids) net.start(id);
    net.runUntil(() => net.formed(), 'cluster');
    // n1 (the coordinator) loses its memory, hears of the cluster, sends a probe round and pauses; its joins
    // are lost, and that round's probes are held up in the network.
    net.crash('n1');
    net.drop = (m) => m.type === 'join' && m.from === 'n1';
    const n1 = net.start('n1');
    net.runUntil(() => n1.discovery!.joining, 'n1 hearing of the cluster');
    const heldUp = nextProbeRound(n1);
    expect(heldUp).toHaveLength(4);
    net.pause('n1');
    // The others restart one at a time, each a caught-up voter again before the next; each new process gets
    // n1's held-up probe first, and answers it fresh.
    for (const id of others) {
      net.crash(id);
      net.runUntil(() => net.leaders().length === 1, `a leader without ${id}`);
      net.start(id);
      net.send(heldUp.filter((m) => m.to === id));
      net.deliver();
      net.runUntil(() => admittedVoters(net, others), `${id} a voter again`, 2000);
    }
    net.propose(net.leaders()[0]!.id, 'after');
    net.runUntil(() => others.every((id) => net.applied.get(id)!.includes('after')), 'the write applied');
    net.resume('n1');

    expectNoSecondCluster(net, n1);
    net.drop = () => false;
    net.runUntil(() => net.formed(), 'one cluster of every member');
    expect(net.applied.get('n1')).toContain('after');
  });
});

/** For 200 rounds n1 neither leads nor is admitted by a configuration of its own making. */
function expectNoSecondCluster(net: DiscoveryNetwork, n1: Raft): void {
  for (let i = 0; i < 200; i++) {
    net.round();
    expect(n1.role, net.describe()).not.toBe('leader');
    expect(n1.membership.current.voters).not.toEqual(['n1']);
  }
}

function admittedVoters(net: DiscoveryNetwork, ids: readonly NodeId[]): boolean {
  const leader = net.leaders()[0];
  return (
    net.leaders().length === 1 &&
    ids.every((id) => leader!.membership.current.voters.includes(id) && net.raft(id).discovery === null)
  );
}

/** Ticks `raft` by hand until it sends a probe round; returns those probes, keeping them off the network. */
function nextProbeRound(raft: Raft): Message[] {
  for (let i = 0; i < 10; i++) {
    raft.tick();
    const probes = raft.ready().messages.filter((m) => m.type === 'probe');
    if (probes.length > 0) return probes;
  }
  throw new Error(`${raft.id} sent no probe round within 10 ticks`);
}
