import type { NodeId } from './types.ts';
import type { RandomSource } from './random.ts';

/**
 * Deliberately broken behaviours, only for tests that prove the simulator's checks bite.
 * Never set outside tests.
 */
export interface RaftTestOnlyBugs {
  /** Commit by counting replicas of an entry from an earlier term (the Figure 8 bug). */
  readonly commitPreviousTermEntries?: boolean;
  /** Grant votes without the candidate's log being at least as up to date (breaks §5.4.1). */
  readonly skipLogUpToDateCheck?: boolean;
  /** Leave the vote out of the persisted hard state, so a restart can vote twice in one term. */
  readonly forgetVoteOnRestart?: boolean;
  /** Allow a configuration change before the leader committed an entry of its term (the unfixed §4.1 rule). */
  readonly configChangeBeforeTermCommit?: boolean;
  /** A follower commits a heartbeat's commit index without having verified its log against that leader. */
  readonly commitOnStaleMatch?: boolean;
  /** Answer reads locally whenever the configuration has one voter, even when this leader is not it. */
  readonly singleVoterReadWithoutMembership?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** The initial voting members (this node among them, unless it joins an existing cluster). */
  readonly voters: readonly NodeId[];
  /** The initial non-voting members. */
  readonly learners: readonly NodeId[];
  readonly random: RandomSource;
  /** Ticks without a leader before an election; randomized per node in [electionTicks, 2 × electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Upper bound of the entry bytes in one append message (one entry may exceed it alone). */
  readonly maxMessageBytes: number;
  /** Appends in flight per follower before the leader waits for acknowledgements. */
  readonly maxInflightMessages: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Entries kept before a snapshot's index, so a follower slightly behind catches up without a snapshot. */
  readonly snapshotTrailingEntries: number;
  /** Let an idle group stop ticking (quiescence.ts); for nodes hosting many groups. */
  readonly quiesce: boolean;
  /**
   * Form or join a cluster by discovery instead of a static configuration (see discovery.ts): `members`
   * are probed, and `incarnation` identifies this process, so that a restart without state rejoins as a
   * new member. Ignored once this node's log admits it.
   */
  readonly discovery?: { readonly members: readonly NodeId[]; readonly incarnation: string };
  readonly testOnlyBugs?: RaftTestOnlyBugs;
}

export type RaftOptions = Pick<RaftConfig, 'id' | 'voters' | 'random'> & Partial<RaftConfig>;

/**
 * etcd's defaults in ticks of 100 ms: a 100 ms heartbeat and a 1 s election timeout. The ratio of ten
 * keeps a follower from starting an election over a few lost heartbeats, while a dead leader is still
 * replaced in 1-2 s.
 */
export const RAFT_DEFAULTS = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxMessageBytes: 1024 * 1024,
  maxInflightMessages: 256,
  preVote: true,
  checkQuorum: true,
  // hashicorp/raft keeps 10,240 trailing entries; the same serves here.
  snapshotTrailingEntries: 10_240,
  quiesce: false,
  learners: [] as readonly string[],
} as const;

export function resolveRaftConfig(options: RaftOptions): RaftConfig {
  const config: RaftConfig = { ...RAFT_DEFAULTS, ...options };
  const problems: string[] = [];
  const members = [...config.voters, ...config.learners];
  if (new Set(members).size !== members.length) problems.push('voters and learners must be distinct');
  if (config.voters.length === 0 && !config.discovery) problems.push('there must be at least one voter');
  if (!(config.heartbeatTicks >= 1))
    problems.push(`heartbeatTicks must be >= 1, got ${config.heartbeatTicks}`);
  if (!(config.electionTicks > config.heartbeatTicks)) {
    problems.push(
      `electionTicks (${config.electionTicks}) must be greater than heartbeatTicks (${config.heartbeatTicks})`,
    );
  }
  if (!(config.maxMessageBytes >= 1)) problems.push('maxMessageBytes must be >= 1');
  if (!(config.maxInflightMessages >= 1)) problems.push('maxInflightMessages must be >= 1');
  if (!(config.snapshotTrailingEntries >= 0)) problems.push('snapshotTrailingEntries must be >= 0');
  if (problems.length > 0) throw new Error(`invalid raft config: ${problems.join('; ')}`);
  return config;
}
