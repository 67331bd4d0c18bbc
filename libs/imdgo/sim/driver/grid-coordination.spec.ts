import { describe, expect, it } from 'vitest';
import { GridCluster } from './grid-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];

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
});
