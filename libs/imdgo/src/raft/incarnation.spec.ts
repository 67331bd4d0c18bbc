import { describe, expect, it } from 'vitest';
import { encodeConfig } from './membership.ts';
import type { RaftRestoreState } from './raft.ts';
import { DiscoveryNetwork } from './testing/discovery-network.ts';
import { TestNetwork } from './testing/network.ts';
import type { Message, NodeId } from './types.ts';

const ids = ['n1', 'n2', 'n3'];
const isTo = (to: NodeId, type: Message['type']) => (m: Message) => m.to === to && m.type === type;

/** n1 leads a cluster whose configuration seats each member as the process `<id>.1`. */
function seatedCluster(): TestNetwork {
  const seats = Object.fromEntries(ids.map((id) => [id, `${id}.1`]));
  const config = { voters: ids, learners: [], incarnations: seats };
  const restore: RaftRestoreState = {
    hardState: { term: 1, vote: null, commit: 1 },
    entries: [{ index: 1, term: 1, kind: 'config', data: encodeConfig(config) }],
  };
  const net = new TestNetwork(ids, {}, Object.fromEntries(ids.map((id) => [id, restore])), seats);
  net.campaign('n1');
  expect(net.raft('n1')).toMatchObject({ role: 'leader', term: 2 });
  return net;
}

describe('a leader never mistakes one process of a member for another', () => {
  it('drops a delayed ack of the previous process once the new one answered', () => {
    const net = new TestNetwork(ids);
    net.campaign('n1');
    net.deliverAll();
    const n1 = net.raft('n1');
    // n2 is cut off, so z commits only with n3's ack; that ack is held back.
    net.isolate('n2');
    net.propose('n1', 'z');
    net.deliver(net.take(isTo('n3', 'append'))[0]!);
    const [staleAck] = net.take(isTo('n1', 'append-response'));
    expect(staleAck).toMatchObject({ success: true, index: 2 });

    net.restartWithoutMemory('n3', 'n3.2');
    net.tick('n1');
    net.deliver(net.take(isTo('n3', 'heartbeat'))[0]!);
    net.deliver(net.take(isTo('n1', 'heartbeat-response'))[0]!);
    expect(n1.countsToward('n3')).toBe(false);

    net.deliver(staleAck!);
    expect(n1.status().progress.get('n3')!.match).toBe(0);
    expect(n1.countsToward('n3')).toBe(false);
    expect(n1.log.committed).toBe(1);
  });

  it('does not take a delayed answer of an earlier process for one of a newer process', () => {
    const net = new DiscoveryNetwork(ids);
    for (const id of ids) net.start(id);
    net.runUntil(() => net.formed(), 'a cluster');
    const leader = net.leader()!;
    const member = ids.find((id) => id !== leader.id)!;
    // The member restarts without memory; one answer of that process is held up in the network.
    net.crash(member);
    const heldUp: Message[] = [];
    net.drop = (m) => m.from === member && m.type === 'heartbeat-response' && heldUp.push(m) > 0;
    net.start(member);
    net.runUntil(() => heldUp.length > 0, 'an answer of the first new process');
    net.drop = () => false;
    // It restarts again; the newer process answers, then the earlier one's answer arrives. Taken as
    // news of a newer process, it shut the one that runs out for as long as this leader led.
    net.crash(member);
    net.start(member);
    net.round();
    net.send(heldUp.slice(0, 1));
    net.deliver();
    net.runUntil(() => net.formed(), 'the member rejoined', 1000);
    expect(leader.role).toBe('leader');
  });

  it('ignores a join still in flight from a process older than the seated one', () => {
    const net = seatedCluster();
    net.deliverAll();
    const n1 = net.raft('n1');
    const lastIndex = n1.log.lastIndex();
    n1.step({ type: 'join', from: 'n3', to: 'n1', term: 0, incarnation: 'n3.0', round: 0 });
    net.flush();
    expect(n1.log.lastIndex()).toBe(lastIndex);
    expect(n1.membership.current.voters).toContain('n3');
  });

  it('readmits a member that restarted without memory, as its new process', () => {
    const net = seatedCluster();
    net.restartWithoutMemory('n3', 'n3.2');
    const seated = () => {
      const { membership, log } = net.raft('n1');
      return (
        membership.current.voters.includes('n3') &&
        membership.current.incarnations?.n3 === 'n3.2' &&
        membership.currentIndex <= log.committed
      );
    };
    for (let round = 0; round < 50 && !seated(); round++) {
      for (const id of ids) net.tick(id);
      net.deliverAll();
    }
    expect(seated()).toBe(true);
    expect(net.raft('n3').discovery).toBeNull();
  });

  it('promotes a learner only on the acks of the process that joined, not of a later one', () => {
    // n2 joined as n2.1 and was added as a learner, then lost its memory before it ever answered.
    const seats = { n1: 'n1.1', n2: 'n2.1' };
    const config = { voters: ['n1'], learners: ['n2'], incarnations: seats };
    const restore: RaftRestoreState = {
      hardState: { term: 1, vote: null, commit: 1 },
      entries: [{ index: 1, term: 1, kind: 'config', data: encodeConfig(config) }],
    };
    const net = new TestNetwork(['n1', 'n2'], {}, { n1: restore }, { n1: 'n1.1', n2: 'n2.2' });
    net.campaign('n1');
    const n1 = net.raft('n1');
    expect(n1.role).toBe('leader');
    const seatedAs = () => {
      const { membership, log } = n1;
      const seated = membership.current.voters.includes('n2') && membership.currentIndex <= log.committed;
      return seated ? membership.current.incarnations?.n2 : undefined;
    };
    // n2.2 catches up on n2's learner seat, but the seat is n2.1's: promoting it would make a two-voter
    // configuration whose second voter is gone for good (found by the driver simulator, seed 847).
    for (let round = 0; round < 50 && seatedAs() !== 'n2.2'; round++) {
      for (const id of ['n1', 'n2']) net.tick(id);
      net.deliverAll();
      const { voters, incarnations } = n1.membership.current;
      expect(voters.includes('n2') && incarnations?.n2 === 'n2.1').toBe(false);
    }
    expect(seatedAs()).toBe('n2.2');
  });

  it('counts a vote only from the process the configuration seats', () => {
    const net = seatedCluster();
    const n2 = net.raft('n2');
    net.isolate('n1');
    net.isolate('n3');
    net.campaign('n2');
    net.heal();
    // The pre-vote is answered by a process of n3 the configuration does not seat, then by the seated one.
    const vote = { type: 'pre-vote-response', from: 'n3', to: 'n2', term: 3, granted: true } as const;
    n2.step({ ...vote, incarnation: 'n3.0' });
    expect(n2.role).toBe('pre-candidate');
    n2.step({ ...vote, incarnation: 'n3.1' });
    expect(n2).toMatchObject({ role: 'candidate', term: 3 });
  });
});
