import { MAX_COORDINATION_VOTERS } from '../libs/imdgo/src/grid/grid-node.ts';
import type { NodeStatus } from './protocol.ts';

/**
 * Whether the members' statuses show the membership the orchestrator intends (`members`, one status per
 * member in that order, null: no answer): every member ready under one leader and, with one group, every
 * member a voter; with partitions, the coordination group's voters are members (at most five: the other
 * members are learners there, by design), every member's table gives replicas to exactly the members, so a
 * new member holds some and a removed one holds none, and every member hosts each replica its table gives
 * it (one restarted without memory is rebuilt before the next fault may take another replica away).
 */
export function membershipHealthy(
  members: readonly string[],
  statuses: readonly (NodeStatus | null)[],
  partitions: number,
): boolean {
  const ids = [...members].sort();
  const leader = statuses[0]?.leader ?? null;
  if (leader === null) return false;
  return statuses.every((status) => {
    if (status === null || !status.ready || status.leader !== leader) return false;
    if (partitions === 1) return sameIds(status.voters, ids);
    const voters = Math.min(ids.length, MAX_COORDINATION_VOTERS);
    const holders = Object.entries(status.replicasHeld ?? {}).filter(([, held]) => held > 0);
    return (
      status.unhostedReplicas === 0 &&
      status.voters.length === voters &&
      status.voters.every((id) => ids.includes(id)) &&
      sameIds(
        holders.map(([id]) => id),
        ids,
      )
    );
  });
}

function sameIds(listed: readonly string[], sortedIds: readonly string[]): boolean {
  return listed.length === sortedIds.length && [...listed].sort().every((id, i) => id === sortedIds[i]);
}
