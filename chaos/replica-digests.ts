import type { StateDigest } from './protocol.ts';

/** One node's digests: one per group it holds a replica of. */
export interface NodeDigests {
  readonly name: string;
  readonly digests: readonly StateDigest[];
}

export interface DigestComparison {
  /** Every group's replicas report the same applied index (else a later comparison may settle it). */
  readonly settled: boolean;
  readonly violations: string[];
}

/**
 * Compares replicas group by group: with `partitions: 1` every node holds the one group; in partitioned
 * mode each node holds the coordination group and some partitions, and only the holders of a partition
 * are compared with each other. A group nobody holds is a violation too (its keys are gone).
 */
export function compareReplicaDigests(
  nodes: readonly NodeDigests[],
  groups: readonly string[],
): DigestComparison {
  const holders = new Map<string, { name: string; digest: StateDigest }[]>(
    groups.map((group) => [group, []]),
  );
  for (const { name, digests } of nodes) {
    for (const digest of digests) {
      const list = holders.get(digest.group);
      if (list) list.push({ name, digest });
      else holders.set(digest.group, [{ name, digest }]);
    }
  }
  let settled = true;
  const violations: string[] = [];
  for (const [group, list] of holders) {
    if (list.length === 0) {
      violations.push(`no node holds a replica of ${group}`);
      continue;
    }
    const first = list[0]!.digest;
    if (list.some(({ digest }) => digest.appliedIndex !== first.appliedIndex)) settled = false;
    if (
      list.some(({ digest }) => digest.digest !== first.digest || digest.appliedIndex !== first.appliedIndex)
    ) {
      const all = list.map(
        ({ name, digest }) =>
          `${name} ${digest.digest.slice(0, 12)} (${digest.keys} keys at ${digest.appliedIndex})`,
      );
      violations.push(`replicas ${group === 'all' ? '' : `of ${group} `}differ: ${all.join(', ')}`);
    }
  }
  return { settled, violations };
}
