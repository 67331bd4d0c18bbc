import type { Role } from '../raft/types.ts';

export interface MemberStatus {
  readonly id: string;
  readonly voter: boolean;
  /** As the reporting node knows it: a leader knows its followers; a follower knows only itself and the leader. */
  readonly role: Role | 'unknown';
  /** Highest log index known to be replicated on the member (leader's view), or null if unknown. */
  readonly matchIndex: number | null;
  /** Entries the member is behind the leader's last index, or null if unknown. */
  readonly lag: number | null;
  /** Milliseconds since the reporting node last heard from the member, or null if never. */
  readonly lastContactMs: number | null;
}

export interface ClusterStatus {
  /** The node that produced this view (the leader, when asked through ImdgoCluster.status()). */
  readonly nodeId: string;
  readonly leader: string | null;
  readonly term: number;
  readonly role: Role;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** `members` is a configuration the reporting node knows committed (else an appended change may be lost). */
  readonly configCommitted: boolean;
  readonly members: readonly MemberStatus[];
}
