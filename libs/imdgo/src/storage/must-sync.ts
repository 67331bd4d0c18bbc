import type { HardState } from '../raft/types.ts';

/**
 * Whether a save must be durable before it resolves (etcd's MustSync): entries, a term and a vote are what
 * Raft keeps on stable storage. A hard state that only moves the commit index is not: a node that loses it
 * in a crash learns the commit index again from the leader. Written after the entries it covers, it can
 * only ever land with them.
 */
export function mustSync(stored: HardState | null, next: HardState | null, entries: number): boolean {
  if (entries > 0) return true;
  if (next === null) return false;
  return stored === null || next.term !== stored.term || next.vote !== stored.vote;
}
