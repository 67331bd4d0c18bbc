import type { NodeId } from './types.ts';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The highest value that a majority of voters has reached (e.g. the quorum-replicated log index). */
export function quorumMin(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  const values = voters.map(valueOf).sort((a, b) => b - a);
  return values[majority(voters.length) - 1] ?? 0;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

export function tallyVotes(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return 'won';
  if (rejected > voters.length - needed) return 'lost';
  return 'pending';
}
