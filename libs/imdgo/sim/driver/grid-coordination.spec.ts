import { describe, expect, it } from 'vitest';
import { MAX_COORDINATION_VOTERS } from '../../src/grid/grid-node.ts';
import { GridCluster } from './grid-cluster.ts';
import { coordinated, PLACEMENT_TIMING, PlacedGrid } from './placed-grid.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];
const SEVEN = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1', 'f:1', 'g:1'];

describe('the coordination group', () => {
  it('never goes quiet: an idle grid’s coordination leader keeps hearing from every member', async () => {
    // Default options: partitions quiesce when idle, the coordination group must not (its leader's contact
    // times are the failure detector's input and keep sessions alive).
    const grid = new GridCluster({ members: MEMBERS, partitions: 2, seed: 31 });
    grid.startAll();
    await grid.runUntil(() => grid.fullyReplicated(), 'formed');
    await grid.runFor(30_000);
    const leader = grid.alive().find((id) => grid.node(id).coordination.isLeader())!;
    const contacts = grid
      .node(leader)
      .coordination.localStatus()
      .members.filter((member) => member.id !== leader)
      .map((member) => member.lastContactMs);
    expect(contacts).toHaveLength(2);
    for (const silence of contacts) expect(silence).not.toBeNull();
    for (const silence of contacts) expect(silence!).toBeLessThan(1_000);
  }, 60_000);

  it('keeps at most five voters; the other members are learners holding the table, one promoted when a voter is gone', async () => {
    const grid = new PlacedGrid({ members: SEVEN, partitions: 4, replicas: 3, seed: 32 });
    const { cluster } = grid;
    for (const id of SEVEN) grid.start(id);
    const config = () => {
      const leader = cluster
        .alive()
        .find((id) => coordinated(cluster.node(id)) && cluster.node(id).coordination.isLeader());
      if (!leader) return null;
      const members = cluster.node(leader).coordination.localStatus().members;
      return {
        leader,
        voters: members.filter((m) => m.voter).map((m) => m.id),
        learners: members.filter((m) => !m.voter).map((m) => m.id),
      };
    };
    const tableEverywhere = () =>
      cluster
        .alive()
        .every(
          (id) => coordinated(cluster.node(id)) && cluster.node(id).coordination.machine.grid.table !== null,
        );
    await cluster.runUntil(
      () => (config()?.learners.length ?? 0) === SEVEN.length - MAX_COORDINATION_VOTERS && tableEverywhere(),
      'every member in the coordination group, holding the table',
    );
    await cluster.runFor(10_000);
    const formed = config()!;
    expect(formed.voters).toHaveLength(MAX_COORDINATION_VOTERS);
    expect([...formed.voters, ...formed.learners].sort()).toEqual(SEVEN);

    const gone = formed.voters.find((id) => id !== formed.leader)!;
    grid.crash(gone);
    await cluster.runUntil(
      () => {
        const now = config();
        return (
          now !== null &&
          !now.voters.includes(gone) &&
          !now.learners.includes(gone) &&
          now.voters.length === MAX_COORDINATION_VOTERS
        );
      },
      `a learner promoted in place of ${gone}`,
      PLACEMENT_TIMING.deadMemberTimeoutMs + 60_000,
    );
    expect(config()!.learners).toHaveLength(SEVEN.length - 1 - MAX_COORDINATION_VOTERS);
  }, 120_000);
});
