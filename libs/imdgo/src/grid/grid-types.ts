import type { NodeObserver } from '../driver/node-observer.ts';
import type { RaftNode, RaftNodeOptions } from '../driver/raft-node.ts';
import type { Scheduler } from '../driver/scheduler.ts';
import type { RandomSource } from '../raft/random.ts';
import type { NodeId, Role, SoftState } from '../raft/types.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';

/** How fresh a read must be; the same three levels as a single group's (see README). */
export type GridConsistency = 'linearizable' | 'leader' | 'local';

/** What every group of the grid (partitions and the coordination group) runs with. */
export type GridGroupTuning = Pick<
  RaftNodeOptions,
  | 'tickMs'
  | 'electionTicks'
  | 'heartbeatTicks'
  | 'requestTimeoutMs'
  | 'snapshotThreshold'
  | 'snapshotTrailingEntries'
  | 'storeLimit'
  | 'maxPendingWrites'
  | 'raftTuning'
>;

export interface GridNodeOptions {
  readonly id: NodeId;
  /**
   * Every member at formation; with `partitions` and `replicas` it fixes the first table on every node. A
   * node not among them joins a formed grid: it hosts no partition until placement moves replicas to it.
   */
  readonly members: readonly NodeId[];
  /** Partitions, fixed when the grid forms (2 or more: `partitions: 1` is a lone RaftNode, not a grid). */
  readonly partitions: number;
  /** Replicas per partition, default 3, capped at the member count. */
  readonly replicas?: number;
  /**
   * Start without a table: host no partition and route through the other members (any that has a table
   * answers with it) until `adoptTable` gives one. For a node whose table placement records (GridPlacement
   * adopts the coordination group's), above all one joining a formed grid or restarted in memory mode.
   * Default false: the node routes and hosts by the formation table it computes from `members`.
   */
  readonly awaitTable?: boolean;
  /** The node's one transport, shared by every group and by the grid's own requests. */
  readonly transport: PeerTransport;
  /** Clocks and timers; the simulator passes virtual ones. */
  readonly scheduler?: Scheduler;
  /** Seeds every group's randomness, so a simulator seed replays a run exactly. */
  readonly random: RandomSource;
  /**
   * Makes the session client ids of this process's writes, one per partition and per group it hosts. They
   * must differ from every other process's, this one's earlier runs included: a session table answers a
   * repeated id and number with the result it kept, not applying the write. Default: 72 random bits from
   * the operating system (not `random`, which a fixed `randomSeed` makes the same on every start); the
   * simulator passes seeded ones.
   */
  readonly sessionIds?: () => string;
  /** Storage of one group: group 0 is the coordination group, partition p is group p + 1. */
  readonly storageFor: (group: number) => RaftStorage;
  /** Frees what a group destroyed here (its replica moved away) held in storage shared with other groups. */
  readonly releaseStorage?: (group: number) => Promise<void>;
  /** This process's identity (new on every start in memory mode), used by every group it hosts. */
  readonly incarnation: string;
  readonly group: GridGroupTuning;
  /**
   * Change events retained per partition this node holds a replica of (up to a quarter more between trims),
   * to serve followers and `changesFrom`; default 1,000. None are retained for the other partitions.
   */
  readonly historySize?: number;
  /** Let idle partition groups go quiet; default true (the coordination group never does). */
  readonly quiesce?: boolean;
  readonly observer?: NodeObserver;
  /** Changes applied by the coordination group (locks, sessions, elections live there). */
  readonly onCoordinationChange?: (change: ChangeEvent) => void;
  readonly onCoordinationReset?: (revision: number) => void;
  readonly onCoordinationRoleChange?: (state: SoftState) => void;
  /** Every group's role changes (the coordination group's too), for metrics and the simulator's checks. */
  readonly onGroupRoleChange?: (group: number, state: SoftState) => void;
  /** A group started here (before it applied anything of a fresh storage), for the simulator's checks. */
  readonly onGroupStarted?: (group: number, node: RaftNode) => void;
}

/** A change of one partition, seen on every node whether or not it holds a replica of the partition. */
export interface GridChangeEvent<V = unknown> extends ChangeEvent<V> {
  readonly partition: number;
}

/** One partition as this node sees it, for ImdgoCluster. */
export interface GridPartitionStatus {
  readonly partition: number;
  /** Its Raft group id (partition + 1). */
  readonly group: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** The voter the table wants to lead it. */
  readonly preferredLeader: NodeId;
  /** The leader this node last knew of (its own group's view, or a replica's last answer), or null. */
  readonly leader: NodeId | null;
  /** Entries each replica lags behind the leader: known only where this node leads the group. */
  readonly lag: Readonly<Record<NodeId, number>> | null;
  /** This node's role in the group, or null when it holds no replica. */
  readonly role: Role | null;
  /** Newest revision of this partition this node's change feed has emitted. */
  readonly feedRevision: number;
}
