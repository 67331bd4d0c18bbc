import { describe, expect, it } from 'vitest';
import type { Raft } from './raft.ts';
import { DiscoveryNetwork } from './testing/discovery-network.ts';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
const MAX_VOTERS = 3;

/** Every live node admitted under one leader, seated with its own incarnation, voter or learner. */
function seated(net: DiscoveryNetwork): boolean {
  const leader = net.leader();
  if (!leader) return false;
  const config = leader.membership.current;
  return [...net.nodes.values()].every(
    (raft: Raft) =>
      raft.discovery === null &&
      raft.leader === leader.id &&
      (config.voters.includes(raft.id) || config.learners.includes(raft.id)) &&
      config.incarnations?.[raft.id] !== undefined,
  );
}

describe('discovery with maxVoters: joiners beyond the cap stay learners', () => {
  it('forms a cluster of maxVoters voters; the other members are admitted as learners and apply every entry', () => {
    const net = new DiscoveryNetwork(ids, 7, MAX_VOTERS);
    for (const id of ids) net.start(id);
    net.runUntil(() => seated(net), 'every member seated');
    // Promotions that would overshoot would show within a few more rounds.
    for (let i = 0; i < 50; i++) net.round();
    const config = net.leader()!.membership.current;
    expect(config.voters).toHaveLength(MAX_VOTERS);
    expect([...config.learners].sort()).toEqual(ids.filter((id) => !config.voters.includes(id)).sort());
    net.propose(net.leader()!.id, 'x');
    net.runUntil(() => ids.every((id) => net.applied.get(id)!.includes('x')), 'applied everywhere');
  });

  it('promotes a learner once a voter is removed, keeping maxVoters voters', () => {
    const net = new DiscoveryNetwork(ids, 8, MAX_VOTERS);
    for (const id of ids) net.start(id);
    net.runUntil(() => seated(net), 'every member seated');
    const leader = net.leader()!;
    const gone = leader.membership.current.voters.find((id) => id !== leader.id)!;
    net.crash(gone);
    expect(leader.proposeConfigChange({ type: 'remove', id: gone })).toMatchObject({ ok: true });
    net.runUntil(
      () =>
        !leader.membership.current.voters.includes(gone) &&
        leader.membership.current.voters.length === MAX_VOTERS,
      'a learner promoted in place of the removed voter',
    );
    expect(leader.membership.current.learners).toHaveLength(ids.length - 1 - MAX_VOTERS);
  });
});
