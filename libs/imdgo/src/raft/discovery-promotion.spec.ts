import { describe, expect, it } from 'vitest';
import { DiscoveryNetwork } from './testing/discovery-network.ts';

describe('discovery: promoting a joiner', () => {
  it('waits while a voter is down, so that the joiner dying too cannot leave no majority', () => {
    const ids = ['n1', 'n2', 'n3', 'n4'];
    const net = new DiscoveryNetwork(ids);
    for (const id of ids) net.start(id);
    net.runUntil(() => net.formed(), 'a cluster of four');
    const leader = net.leader()!;
    const [joiner, down] = ids.filter((id) => id !== leader.id) as [string, string];
    // Three voters: `joiner` is removed and stopped; then `down` goes down.
    net.changeConfig(leader, { type: 'remove', id: joiner });
    net.crash(joiner);
    net.crash(down);
    // Two election timeouts: the leader has had a whole window without hearing from it.
    for (let i = 0; i < 2 * leader.config.electionTicks; i++) net.round();
    net.start(joiner);
    net.runUntil(() => leader.membership.current.learners.includes(joiner), 'the joiner a learner');
    // Caught up, the joiner would make four voters, one of them down: its process dying unseen would leave
    // two of four, no majority. It stays a learner while the seat of the voter that is down remains.
    for (let i = 0; i < 100; i++) net.round();
    expect(net.raft(joiner).log.lastIndex()).toBe(leader.log.lastIndex());
    expect(leader.membership.current.voters).not.toContain(joiner);
    // The member that was down comes back without its memory: its old seat goes, and both are promoted.
    net.start(down);
    net.runUntil(() => net.formed(), 'a cluster of four again');
    expect(leader.membership.current.voters).toHaveLength(4);
  });
});
