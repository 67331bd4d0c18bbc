import { describe, expect, it } from 'vitest';
import { compareReplicaDigests } from '../chaos/replica-digests.ts';
import type { StateDigest } from '../chaos/protocol.ts';
import { groupNames } from '../chaos/state-digest.ts';

const d = (group: string, digest: string, appliedIndex = 10, keys = 2): StateDigest => ({
  group,
  digest,
  keys,
  appliedIndex,
});

describe('comparing replica digests', () => {
  it('with one group, compares every node', () => {
    const same = compareReplicaDigests(
      [
        { name: 'n1', digests: [d('all', 'aaa')] },
        { name: 'n2', digests: [d('all', 'aaa')] },
      ],
      groupNames(1),
    );
    expect(same).toEqual({ settled: true, violations: [] });
    const differing = compareReplicaDigests(
      [
        { name: 'n1', digests: [d('all', 'aaa')] },
        { name: 'n2', digests: [d('all', 'bbb')] },
      ],
      groupNames(1),
    );
    expect(differing.violations).toEqual(['replicas differ: n1 aaa (2 keys at 10), n2 bbb (2 keys at 10)']);
  });

  it('in partitioned mode, compares only the holders of each partition with each other', () => {
    const nodes = [
      { name: 'n1', digests: [d('coordination', 'c'), d('partition 0', 'p0'), d('partition 1', 'p1')] },
      { name: 'n2', digests: [d('coordination', 'c'), d('partition 0', 'p0')] },
      { name: 'n3', digests: [d('coordination', 'c'), d('partition 1', 'p1')] },
    ];
    expect(compareReplicaDigests(nodes, groupNames(2))).toEqual({ settled: true, violations: [] });
    nodes[2]!.digests[1] = d('partition 1', 'stale', 9);
    expect(compareReplicaDigests(nodes, groupNames(2))).toEqual({
      settled: false,
      violations: ['replicas of partition 1 differ: n1 p1 (2 keys at 10), n3 stale (2 keys at 9)'],
    });
  });

  it('reports a partition nobody holds', () => {
    const nodes = [{ name: 'n1', digests: [d('coordination', 'c'), d('partition 0', 'p0')] }];
    expect(compareReplicaDigests(nodes, groupNames(3)).violations).toEqual([
      'no node holds a replica of partition 1',
      'no node holds a replica of partition 2',
    ]);
  });
});
