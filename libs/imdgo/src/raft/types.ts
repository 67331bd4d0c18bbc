/** A member of the cluster, identified by its advertised `host:port`. */
export type NodeId = string;

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/**
 * `command` carries an application command; `noop` is the entry a new leader appends so that it can commit
 * entries of earlier terms (Raft §5.4.2) and serve ReadIndex; `config` carries a new ClusterConfig.
 */
export type EntryKind = 'command' | 'noop' | 'config';

/** Who votes and who only replicates. A configuration takes effect as soon as it is in a node's log (§4.1). */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
  /** Non-voting members: they receive the log but neither vote nor count toward any majority. */
  readonly learners: readonly NodeId[];
  /**
   * The process incarnation of members that joined on their own (see discovery.ts): a member that comes
   * back with another incarnation lost its memory, and is removed and added again as a new member.
   */
  readonly incarnations?: Readonly<Record<NodeId, string>>;
}

/** One single-server change (Raft dissertation §4.1): a cluster changes one member at a time. */
export interface ConfigChange {
  readonly type: 'add-learner' | 'promote' | 'remove';
  readonly id: NodeId;
  /** With add-learner: the joining process, whose promotion then follows once it has caught up. */
  readonly incarnation?: string;
}

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  /** Opaque to the core: it only measures its size for batching. */
  readonly data: Uint8Array;
}

/** What must be on stable storage before any message of the same Ready is sent (Raft Figure 2). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** What the core knows of a snapshot: the last entry it covers and the configuration at that point. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
}

/** The state machine's image at `index`: replaces every entry up to it (log compaction). */
export interface Snapshot extends SnapshotMeta {
  readonly data: Uint8Array;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface AppendMessage extends Envelope, LeaderContact {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponseMessage extends Envelope, SenderIncarnation {
  readonly type: 'append-response';
  readonly success: boolean;
  /** On success the follower's last index matching the leader; on rejection the rejected prevIndex. */
  readonly index: number;
  /** Fast backtracking (etcd's findConflictByTerm): a follower index whose term is at most `hintTerm`. */
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/**
 * What a response says of the process that sent it, so that a leader never mistakes one process of a
 * member for another (discovery.ts). Set by every node started with an incarnation.
 */
export interface SenderIncarnation {
  /** The sending process: the leader counts it toward majorities only if its configuration seats it. */
  readonly incarnation?: string;
  /**
   * The newest contact round of this term's leader the process heard (`LeaderContact`): it was alive after
   * the leader sent that round, which orders it after any process of the member last heard before then.
   */
  readonly contact?: number;
}

/** Stamped on what a leader sends: its contact round, which it advances with every heartbeat broadcast. */
export interface LeaderContact {
  readonly contact?: number;
}

export interface HeartbeatMessage extends Envelope, LeaderContact {
  readonly type: 'heartbeat';
  /**
   * min(follower match, leader commit). The follower commits it only as far as an append from this leader
   * in this term verified its log: the match may be a previous process's.
   */
  readonly commit: number;
  /** The leader's newest ReadIndex round; echoed back to confirm leadership for reads up to it. */
  readonly readRound: number;
  /** The leader goes quiet: a follower holding exactly `commit` entries may too, without answering. */
  readonly quiesce?: true;
}

export interface HeartbeatResponseMessage extends Envelope, SenderIncarnation {
  readonly type: 'heartbeat-response';
  readonly readRound: number;
  /** The follower's commit index: below what the heartbeat offered, the leader sends an append to verify. */
  readonly commit: number;
}

export interface VoteMessage extends Envelope {
  readonly type: 'vote' | 'pre-vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set by a leadership transfer: voters must not ignore it because they heard from a leader recently. */
  readonly transfer: boolean;
  /** The incarnation the candidate's configuration seats the recipient with, if recorded. */
  readonly seat?: string;
}

export interface VoteResponseMessage extends Envelope, SenderIncarnation {
  readonly type: 'vote-response' | 'pre-vote-response';
  readonly granted: boolean;
}

export interface TimeoutNowMessage extends Envelope {
  readonly type: 'timeout-now';
}

/** A follower asking the leader for a read index on behalf of its clients. */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'read-index';
  readonly requestId: number;
  /** The requesting process's read nonce, echoed back: request ids restart with every process. */
  readonly nonce: number;
}

export interface ReadIndexResponseMessage extends Envelope {
  readonly type: 'read-index-response';
  readonly requestId: number;
  readonly nonce: number;
  readonly index: number;
}

/**
 * InstallSnapshot (Raft §7), stepped into the follower's core once the driver has received the whole image
 * (the data travels beside the core, in chunks).
 */
export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot';
  readonly snapshot: SnapshotMeta;
}

/** A node without state asking a member whether a cluster exists (discovery.ts). */
export interface ProbeMessage extends Envelope {
  readonly type: 'probe';
  /** The prober's round: only answers to the current round count, not late or duplicated earlier ones. */
  readonly round: number;
  /** The probing process, echoed in the answer: rounds alone may repeat across its member's processes. */
  readonly incarnation: string;
}

export interface ProbeResponseMessage extends Envelope {
  readonly type: 'probe-response';
  /** The round of the probe (or join) this answers. */
  readonly round: number;
  /** The responder has no state and belongs to no cluster yet. */
  readonly fresh: boolean;
  readonly leader: NodeId | null;
  /** The responding process: two fresh answers prove it held nothing in between only if one process gave both. */
  readonly incarnation?: string;
  /** The probing (or joining) process this answers. */
  readonly prober: string;
}

/** A node without state asking the leader to admit it as a new member. */
export interface JoinMessage extends Envelope {
  readonly type: 'join';
  readonly incarnation: string;
  /** The joiner's probe round, echoed by a member that is not the leader. */
  readonly round: number;
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | SnapshotMessage
  | ProbeMessage
  | ProbeResponseMessage
  | JoinMessage;

export type MessageType = Message['type'];

/** A read request that became safe: once the state machine has applied `index`, the read is linearizable. */
export interface ReadState {
  readonly requestId: number;
  readonly index: number;
}

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: number;
}

/**
 * The effects of everything the core did since the last `ready()`. The driver must, in this order:
 * persist `hardState` and `entries` (entries replace any stored entry at the same or a later index),
 * then send `messages`, then apply `committedEntries` and serve `readStates`.
 */
export interface Ready {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Read requests this node can no longer answer (it lost leadership or never had a leader to ask). */
  readonly droppedReads: readonly number[];
  readonly softState: SoftState | null;
  /**
   * A snapshot received from the leader that replaced the log: the driver persists it and restores the
   * state machine from it before applying `committedEntries`.
   */
  readonly snapshot: SnapshotMeta | null;
}
