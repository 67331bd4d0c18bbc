import { assert } from './assert.ts';
import { resolveRaftConfig, type RaftConfig, type RaftOptions } from './config.ts';
import { campaign, handleVoteRequest, handleVoteResponse, type CampaignKind } from './election.ts';
import {
  handleTimeoutNow,
  mostCaughtUpVoter,
  startLeadershipTransfer,
  type TransferResult,
} from './leadership-transfer.ts';
import { RaftLog } from './log.ts';
import { Progress } from './progress.ts';
import { majority, quorumMin } from './quorum.ts';
import { ReadIndexQueue } from './read-index.ts';
import {
  broadcastHeartbeat,
  flushReplication,
  handleAppend,
  handleAppendResponse,
  handleHeartbeat,
  handleHeartbeatResponse,
  sendAppend,
} from './replication.ts';
import { answerProbe, Discovery, handleJoin, isAdmitted } from './discovery.ts';
import { changeConfig, encodeConfig, MembershipTracker } from './membership.ts';
import { handleSnapshot } from './snapshot.ts';
import { mayQuiesce, quiesceLeader, wake } from './quiescence.ts';
import type {
  ClusterConfig,
  ConfigChange,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  ReadState,
  Role,
  SenderIncarnation,
  SnapshotMeta,
  SoftState,
} from './types.ts';

/** A message as a rule writes it: the sender is this node, and the term its current one unless given. */
type OutgoingMessage = Message extends infer M
  ? M extends Message
    ? Omit<M, 'from' | 'term'> & { term?: number }
    : never
  : never;

export type ProposeResult =
  | { readonly ok: true; readonly firstIndex: number; readonly term: number }
  | { readonly ok: false; readonly reason: 'not-leader' | 'transferring'; readonly leader: NodeId | null };

export type ConfigChangeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | {
      readonly ok: false;
      readonly reason: 'not-leader' | 'transferring' | 'not-ready' | 'pending' | 'invalid';
      readonly message: string;
      readonly leader: NodeId | null;
    };

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly config: ClusterConfig;
  readonly progress: ReadonlyMap<
    NodeId,
    { match: number; next: number; state: string; recentActive: boolean }
  >;
}

export interface RaftRestoreState {
  readonly hardState: HardState;
  readonly entries: readonly Entry[];
  /** The snapshot the entries follow, if the log was compacted. */
  readonly snapshot?: SnapshotMeta | null;
}

/**
 * The consensus core: a pure, synchronous state machine (etcd-io/raft's design). Inputs are `tick()`,
 * `step()`, `propose()`, `readIndex()` and `transferLeadership()`; their effects accumulate until the
 * driver takes them with `ready()`. Nothing here touches time, randomness (beyond the injected source)
 * or I/O, so a seed replays a whole cluster exactly.
 *
 * The rules live next door: election.ts (votes, PreVote, CheckQuorum), replication.ts (AppendEntries,
 * commit), read-index.ts (linearizable reads), leadership-transfer.ts (TimeoutNow), membership.ts
 * (single-server configuration changes), snapshot.ts (InstallSnapshot).
 */
export class Raft {
  readonly config: RaftConfig;
  readonly id: NodeId;
  readonly log: RaftLog;
  readonly membership: MembershipTracker;
  /** The newest snapshot the driver took or installed: what a lagging follower is sent. */
  latestSnapshot: SnapshotMeta | null;
  /** A snapshot from the leader replaced the log; the driver restores it at the next Ready. */
  pendingRestore: SnapshotMeta | null = null;
  /** Set while this node, started without a seat, probes for a cluster or waits to be admitted. */
  discovery: Discovery | null = null;
  /** Discovery saw the cluster this node was joining vanish: whatever it held is gone (discovery.ts). */
  lostCluster = false;
  /** A bootstrapping node writes its one-voter configuration into the log once it leads. */
  private needsConfigEntry = false;
  /** As leader: advanced by every heartbeat broadcast, stamped on appends and heartbeats (LeaderContact). */
  contactRound = 0;
  /** The newest contact round heard from the leader of `term`, echoed in responses (SenderIncarnation). */
  private leaderContact = { term: 0, round: 0 };

  term = 0;
  vote: NodeId | null = null;
  role: Role = 'follower';
  leader: NodeId | null = null;

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Votes (or pre-votes) received in the current campaign. */
  readonly votes = new Map<NodeId, boolean>();
  /** The leader's view of every other voter. */
  readonly progress = new Map<NodeId, Progress>();
  leadTransferee: NodeId | null = null;
  /**
   * Follower: the highest index an append (or snapshot) from the current leader in this term proved to
   * match the leader's log. Commits go no further: a log taken from a stale leader can hold other entries
   * at indexes this leader committed, and the leader's match for us may be a previous process's.
   */
  verifiedIndex = 0;
  /**
   * Drawn once per process and carried by every read-index request and answer: request ids restart with
   * each process, so an answer to a previous process's request must not match a new one.
   */
  readonly readNonce: number;
  /** Whether this leader has committed an entry of its own term: before that it cannot serve reads. */
  committedInTerm = false;
  readonly reads: ReadIndexQueue;

  /** The group is idle and does not tick (quiescence.ts); any message or input but a quiesce heartbeat wakes it. */
  quiesced = false;
  /** Set when followers must hear of a commit index: it moved, or an ack showed a follower lacking it. */
  commitChanged = false;
  private messages: Message[] = [];
  readonly readStates: ReadState[] = [];
  readonly droppedReads: number[] = [];
  private lastHardState: HardState;
  private lastSoftState: SoftState;

  constructor(options: RaftOptions, restore?: RaftRestoreState) {
    this.config = resolveRaftConfig(options);
    this.id = this.config.id;
    this.reads = new ReadIndexQueue(this);
    this.readNonce = this.config.random.int(2 ** 31);
    const hardState = restore?.hardState ?? { term: 0, vote: null, commit: 0 };
    const snapshot = restore?.snapshot ?? null;
    this.latestSnapshot = snapshot;
    this.log = new RaftLog(restore?.entries ?? [], hardState.commit, snapshot);
    const initial = { voters: [...this.config.voters], learners: [...this.config.learners] };
    this.membership = new MembershipTracker(snapshot?.config ?? initial, snapshot?.index ?? 0);
    for (const entry of restore?.entries ?? []) this.membership.onAppended(entry);
    const discovery = this.config.discovery;
    // A node that restarted holding its own uncommitted removal is still a member until it commits.
    if (discovery && !isAdmitted(this, discovery.incarnation) && !this.holdsOwnRemoval()) {
      this.discovery = new Discovery(
        this.id,
        discovery.members,
        discovery.incarnation,
        this.config.random.int(2 ** 31),
      );
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.lastHardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    this.lastSoftState = this.softState();
    this.resetElectionTimer();
  }

  // ---- inputs ----

  tick(): void {
    if (this.quiesced) return;
    if (this.discovery?.tick(this)) this.formSoleVoterCluster();
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  step(message: Message): void {
    assert(message.to === this.id, `message for ${message.to} delivered to ${this.id}`);
    if (message.from === this.id) return;
    if (message.type !== 'heartbeat' || message.quiesce !== true) wake(this);
    // Discovery runs beside the terms: a node without state has no term worth comparing.
    if (message.type === 'probe') return answerProbe(this, message.from, message.round, message.incarnation);
    if (message.type === 'probe-response') return this.discovery?.onProbeResponse(message);
    if (message.type === 'join') return handleJoin(this, message);
    if (!this.stepTerm(message)) return;

    switch (message.type) {
      case 'vote':
      case 'pre-vote':
        handleVoteRequest(this, message);
        return;
      case 'vote-response':
      case 'pre-vote-response':
        if (this.isSeated(message.from, message.incarnation)) handleVoteResponse(this, message);
        return;
      case 'append':
        assert(this.role !== 'leader', `two leaders in term ${this.term}: ${this.id} and ${message.from}`);
        if (this.role !== 'follower') this.becomeFollower(message.term, message.from);
        this.heardFromLeader(message.from);
        this.heardContact(message.contact);
        handleAppend(this, message);
        this.checkAdmitted();
        return;
      case 'heartbeat':
        assert(this.role !== 'leader', `two leaders in term ${this.term}: ${this.id} and ${message.from}`);
        if (this.role !== 'follower') this.becomeFollower(message.term, message.from);
        this.heardFromLeader(message.from);
        this.heardContact(message.contact);
        handleHeartbeat(this, message);
        return;
      case 'append-response':
        if (this.role === 'leader') handleAppendResponse(this, message);
        return;
      case 'heartbeat-response':
        if (this.role === 'leader') handleHeartbeatResponse(this, message);
        return;
      case 'timeout-now':
        if (this.role === 'follower') handleTimeoutNow(this);
        return;
      case 'read-index':
        if (this.role === 'leader') this.reads.request(message.requestId, message.from, message.nonce);
        return;
      case 'snapshot':
        assert(this.role !== 'leader', `two leaders in term ${this.term}: ${this.id} and ${message.from}`);
        if (this.role !== 'follower') this.becomeFollower(message.term, message.from);
        this.heardFromLeader(message.from);
        handleSnapshot(this, message);
        this.checkAdmitted();
        return;
      case 'read-index-response':
        if (this.role === 'follower' && message.nonce === this.readNonce)
          this.readStates.push({ requestId: message.requestId, index: message.index });
        return;
    }
  }

  /** Appends one command to the log if this node leads; replicated when the driver next takes `ready()`. */
  propose(data: Uint8Array): ProposeResult {
    return this.proposeBatch([data]);
  }

  /** Appends several commands as consecutive entries: one replication round for all of them. */
  proposeBatch(commands: readonly Uint8Array[]): ProposeResult {
    wake(this);
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };
    if (this.leadTransferee !== null) return { ok: false, reason: 'transferring', leader: this.leader };
    const firstIndex = this.log.lastIndex() + 1;
    for (const data of commands) this.appendEntry('command', data);
    return { ok: true, firstIndex, term: this.term };
  }

  /**
   * Asks for a linearizable read (Raft thesis §6.4). The answer arrives in a later Ready: a ReadState
   * (serve the read once `applied >= index`) or the id in `droppedReads` (retry elsewhere).
   */
  readIndex(requestId: number): void {
    wake(this);
    if (this.role === 'leader') this.reads.request(requestId, this.id, this.readNonce);
    else if (this.leader !== null)
      this.send({ type: 'read-index', to: this.leader, requestId, nonce: this.readNonce });
    else this.droppedReads.push(requestId);
  }

  transferLeadership(target: NodeId): TransferResult {
    wake(this);
    return startLeadershipTransfer(this, target);
  }

  /** Leader: the admitted voter holding the most of the log, the best target for a transfer (or null). */
  transferCandidate(): NodeId | null {
    return this.role === 'leader' ? mostCaughtUpVoter(this) : null;
  }

  /**
   * The driver saw the connection to `peer` close. If it was our leader it has likely crashed: forget it,
   * give up the CheckQuorum lease and campaign within a few ticks instead of a full election timeout.
   * Only a hint, never trusted for safety: with PreVote a live leader's followers still refuse.
   */
  peerUnreachable(peer: NodeId): void {
    if (this.leader === peer || (this.role === 'leader' && this.progress.has(peer))) wake(this);
    if (this.role !== 'follower' || this.leader !== peer) return;
    this.leader = null;
    const soon = 1 + this.config.random.int(3);
    this.electionElapsed = Math.max(this.config.electionTicks, this.randomizedElectionTimeout - soon);
  }

  /**
   * Appends a single-server configuration change (Raft dissertation §4.1), in effect at once. Refused until
   * this leader has committed an entry of its term, and while another change is uncommitted: the fix
   * (Ongaro, 2015) that keeps the majorities of successive configurations overlapping across leader changes.
   */
  proposeConfigChange(change: ConfigChange): ConfigChangeResult {
    const refuse = (reason: Exclude<ConfigChangeResult, { ok: true }>['reason'], message: string) =>
      ({ ok: false, reason, message, leader: this.leader }) as const;
    wake(this);
    if (this.role !== 'leader') return refuse('not-leader', 'only the leader changes the configuration');
    if (this.leadTransferee !== null) return refuse('transferring', 'a leadership transfer is in progress');
    if (!this.committedInTerm && !this.config.testOnlyBugs?.configChangeBeforeTermCommit) {
      return refuse('not-ready', 'the leader has not yet committed an entry of its term');
    }
    if (this.membership.currentIndex > this.log.committed) {
      return refuse('pending', 'another configuration change is not yet committed');
    }
    const next = changeConfig(this.membership.current, change);
    if (typeof next === 'string') return refuse('invalid', next);
    this.appendEntry('config', encodeConfig(next));
    return { ok: true, index: this.log.lastIndex(), term: this.term };
  }

  /**
   * The driver took a snapshot of the state machine at `index` (applied, and durable): followers too far
   * behind get it, and the log keeps only `snapshotTrailingEntries` before it, so slightly lagging
   * followers still catch up from entries.
   */
  snapshotTaken(index: number): void {
    if (index <= (this.latestSnapshot?.index ?? 0)) return;
    this.latestSnapshot = this.snapshotMeta(index);
    const compactTo = index - this.config.snapshotTrailingEntries;
    if (compactTo > this.log.offset) {
      this.log.compact(compactTo);
      this.membership.compact(compactTo);
    }
  }

  /**
   * Whether a snapshot of the state machine at `index` can be recorded now: the index is applied and not
   * compacted. A snapshot from the leader stepped in while the driver was applying moves the log past the
   * state machine until the driver installs the image.
   */
  canSnapshotAt(index: number): boolean {
    return index <= this.log.applied && index >= this.log.offset;
  }

  /** What a snapshot of the state machine at `index` (applied, not compacted) must record beside the image. */
  snapshotMeta(index: number): SnapshotMeta {
    assert(this.canSnapshotAt(index), `no snapshot possible at ${index}`);
    return { index, term: this.log.term(index), config: this.membership.configAt(index) };
  }

  /** The driver's verdict on streaming a snapshot to `to`; on failure the leader probes again later. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    pr.snapshotFinished(ok);
  }

  /**
   * Unsafe recovery when a majority of the voters lost their memory (etcd's --force-new-cluster): this node
   * becomes the sole voter of a new configuration in a new term and commits everything its log holds, alone.
   * Writes acknowledged by the lost majority but missing here are gone; members still running the old
   * configuration must be gone first. The others then rejoin as new members through discovery.
   */
  forceNewCluster(): { readonly ok: true } | { readonly ok: false; readonly message: string } {
    const heardFromLeader = this.leader !== null && this.electionElapsed < this.config.electionTicks;
    if (this.role === 'leader' || heardFromLeader) {
      return { ok: false, message: `the cluster is not lost: ${this.leader} leads it` };
    }
    if (this.log.lastIndex() === 0) {
      return { ok: false, message: 'this node holds no data: it forms or joins a cluster by itself' };
    }
    this.formSoleVoterCluster();
    return { ok: true };
  }

  // ---- output ----

  hasReady(): boolean {
    return (
      this.messages.length > 0 ||
      this.readStates.length > 0 ||
      this.droppedReads.length > 0 ||
      this.log.committed > this.log.applied ||
      this.commitChanged ||
      this.log.hasUnstable() ||
      this.pendingRestore !== null ||
      this.hardStateChanged() ||
      this.softStateChanged() ||
      (this.role === 'leader' && (this.reads.hasUnsentRound() || this.hasEntriesToSend()))
    );
  }

  ready(): Ready {
    if (this.role === 'leader') {
      this.reads.flush();
      flushReplication(this);
    }
    const softState = this.softStateChanged() ? this.softState() : null;
    if (softState) this.lastSoftState = softState;
    let hardState: HardState | null = null;
    if (this.hardStateChanged()) {
      hardState = { term: this.term, vote: this.vote, commit: this.log.committed };
      this.lastHardState = hardState;
      if (this.config.testOnlyBugs?.forgetVoteOnRestart) hardState = { ...hardState, vote: null };
    }
    const messages = this.messages;
    this.messages = [];
    return {
      hardState,
      entries: this.log.takeUnstable(),
      messages,
      committedEntries: this.log.takeCommitted(),
      readStates: this.readStates.splice(0),
      droppedReads: this.droppedReads.splice(0),
      softState,
      snapshot: this.takePendingRestore(),
    };
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, { match: number; next: number; state: string; recentActive: boolean }>();
    for (const [id, pr] of this.progress) {
      progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive });
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      config: this.membership.current,
      progress,
    };
  }

  /** Every voter, this node included if it is one. */
  get voters(): readonly NodeId[] {
    return this.membership.current.voters;
  }

  isVoter(id: NodeId = this.id): boolean {
    return this.membership.current.voters.includes(id);
  }

  /**
   * Whether this node may run for leader: a voter with its memory, or a node whose own removal it holds
   * uncommitted. That one must see the removal through, as a leader outside its configuration does
   * (dissertation §4.2.2): when it holds the only copy, the voters left need it to commit the removal,
   * and they cannot elect one another without its vote, which their shorter logs do not get.
   */
  mayCampaign(): boolean {
    return this.discovery === null && (this.isVoter() || this.holdsOwnRemoval());
  }

  /** The newest configuration, not known committed, removed this node as a voter. */
  private holdsOwnRemoval(): boolean {
    const { currentIndex } = this.membership;
    if (currentIndex <= this.log.committed || this.isVoter()) return false;
    return this.membership.configAt(currentIndex - 1).voters.includes(this.id);
  }

  /** Whether the configuration seats this process of `id` (both without incarnation, or the same one). */
  isSeated(id: NodeId, incarnation: string | undefined): boolean {
    return this.membership.current.incarnations?.[id] === incarnation;
  }

  // ---- shared by the rule modules ----

  send(message: OutgoingMessage): void {
    this.messages.push({
      ...message,
      ...(isResponse(message) ? this.senderIncarnation() : {}),
      from: this.id,
      term: message.term ?? this.term,
    } as Message);
  }

  /** Which process of this member sent a response (discovery.ts): absent for a node without incarnation. */
  private senderIncarnation(): SenderIncarnation {
    const incarnation = this.config.discovery?.incarnation;
    if (incarnation === undefined) return {};
    const contact = this.leaderContact.term === this.term ? this.leaderContact.round : 0;
    return { incarnation, contact };
  }

  private heardContact(round: number | undefined): void {
    if (round === undefined) return;
    if (this.leaderContact.term !== this.term) this.leaderContact = { term: this.term, round: 0 };
    this.leaderContact.round = Math.max(this.leaderContact.round, round);
  }

  /** A voter whose acknowledgements count: in the configuration, and not a memory-less stand-in for it. */
  countsToward(id: NodeId): boolean {
    return this.isVoter(id) && !this.progress.get(id)?.unadmitted;
  }

  /** Every other member, learners included: whom the leader replicates to. */
  peers(): NodeId[] {
    const { voters, learners } = this.membership.current;
    return [...voters, ...learners].filter((id) => id !== this.id);
  }

  appendEntry(kind: Entry['kind'], data: Uint8Array): void {
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind, data };
    this.log.append(entry);
    this.membership.onAppended(entry);
    if (kind === 'config' && this.role === 'leader') this.syncProgress();
    // A lone voter commits on its own append.
    if (this.voters.length === 1) this.maybeCommit();
  }

  /** The leader tracks exactly the current members: new ones start probing, removed ones are dropped. */
  syncProgress(): void {
    const members = new Set(this.peers());
    for (const id of this.progress.keys()) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      if (!this.progress.has(id)) {
        this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.config.maxInflightMessages));
      }
    }
  }

  /** Leader: commit the highest index a majority stores, if it is from this term (Raft §5.4.2). */
  maybeCommit(): boolean {
    const index = quorumMin(this.voters, (id) =>
      id === this.id ? this.log.lastIndex() : this.countsToward(id) ? (this.progress.get(id)?.match ?? 0) : 0,
    );
    if (index <= this.log.committed) return false;
    if (this.log.term(index) !== this.term && !this.config.testOnlyBugs?.commitPreviousTermEntries)
      return false;
    this.log.commitTo(index);
    this.commitChanged = true;
    // A leader removed by a configuration that is now committed hands over (dissertation §4.2.2).
    if (!this.isVoter() && this.membership.currentIndex <= index) {
      this.becomeFollower(this.term, null);
      return true;
    }
    if (!this.committedInTerm && this.log.term(index) === this.term) {
      this.committedInTerm = true;
      this.reads.onCommittedInTerm();
    }
    return true;
  }

  becomeFollower(term: number, leader: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leader = leader;
  }

  becomePreCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become pre-candidate');
    // PreVote does not touch the term or the vote: a node cut off cannot inflate terms and disrupt.
    this.role = 'pre-candidate';
    this.leader = null;
    this.votes.clear();
    this.reads.dropAll();
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    assert(this.role === 'candidate', `${this.role} cannot become leader`);
    this.reset(this.term);
    this.role = 'leader';
    this.leader = this.id;
    this.syncProgress();
    // Raft §5.4.2 / §8: a no-op of the new term lets the leader commit (and read) what earlier terms left.
    this.appendEntry('noop', new Uint8Array(0));
    if (this.needsConfigEntry) {
      this.needsConfigEntry = false;
      this.appendEntry('config', encodeConfig(this.membership.current));
    }
    for (const id of this.peers()) sendAppend(this, id, true);
  }

  resetElectionTimer(): void {
    this.electionElapsed = 0;
    const base = this.config.electionTicks;
    this.randomizedElectionTimeout = base + this.config.random.int(base);
  }

  // ---- internals ----

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.heartbeatElapsed = 0;
    this.quiesced = false;
    this.resetElectionTimer();
    this.votes.clear();
    this.progress.clear();
    this.leadTransferee = null;
    this.committedInTerm = false;
    this.commitChanged = false;
    this.verifiedIndex = 0;
    this.reads.dropAll();
  }

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0;
    this.leader = leader;
  }

  /**
   * The term rules every message passes first (Raft §5.1 with etcd's PreVote and CheckQuorum refinements).
   * Returns false when the message must go no further.
   */
  private stepTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        // CheckQuorum's lease: while we hear from a live leader, a disruptive candidate is ignored.
        const inLease =
          this.config.checkQuorum && this.leader !== null && this.electionElapsed < this.config.electionTicks;
        if (inLease && !m.transfer) return false;
      }
      if (m.type === 'pre-vote') return true;
      if (m.type === 'pre-vote-response' && m.granted) return true;
      const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
      const elapsed = this.electionElapsed;
      this.becomeFollower(m.term, fromLeader ? m.from : null);
      // Raft §5.2: only a granted vote (or a leader) restarts the election timer. A candidate whose log
      // is behind must not, by failing over and over, keep the most up-to-date node from ever campaigning.
      if (m.type === 'vote') this.electionElapsed = elapsed;
      return true;
    }
    if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // Tell a stale leader our term (Raft §5.1), or it would keep a partitioned follower at bay forever.
        // Also without PreVote and CheckQuorum (where etcd stays silent): a learner or a rejoining member
        // whose term a candidate raised cannot campaign, and only this answer moves the leader past it.
        this.send({
          type: 'append-response',
          to: m.from,
          success: false,
          index: 0,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-response', to: m.from, granted: false });
      }
      return false;
    }
    return true;
  }

  private tickElection(): void {
    this.electionElapsed++;
    // A node that cannot campaign lets the time since it heard from a leader grow, so its CheckQuorum
    // lease runs out and it answers the (pre-)votes of those that can (etcd's promotable()).
    const promotable = this.mayCampaign();
    if (promotable && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      const kind: CampaignKind = this.config.preVote ? 'pre-election' : 'election';
      campaign(this, kind, false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      // The window restarts with CheckQuorum off too: promotion asks who was heard from (discovery.ts).
      const quorumHeard = this.quorumActive();
      if (this.config.checkQuorum && !quorumHeard) {
        this.becomeFollower(this.term, null);
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      if (mayQuiesce(this)) quiesceLeader(this);
      else broadcastHeartbeat(this);
    }
  }

  /** Has a majority (this leader included) been heard from since the last check? Starts the next window. */
  private quorumActive(): boolean {
    let active = this.isVoter() ? 1 : 0;
    for (const [id, pr] of this.progress) {
      // Liveness, not a majority decision: a rejoining voter that follows us proves contact too, and must,
      // or a leader that just promoted it would step down before it can learn of its promotion.
      if (pr.recentActive && this.isVoter(id)) active++;
      pr.recentActive = false;
    }
    return active >= majority(this.voters.length);
  }

  /**
   * The coordinator of a cluster-to-be, or a forced recovery: a one-voter configuration after the log, and an
   * election it wins at once, whose leader writes the configuration into the log.
   */
  private formSoleVoterCluster(): void {
    const incarnation = this.discovery?.incarnation ?? this.config.discovery?.incarnation;
    this.discovery = null;
    const incarnations = incarnation === undefined ? {} : { incarnations: { [this.id]: incarnation } };
    this.membership.restore(this.log.lastIndex(), { voters: [this.id], learners: [], ...incarnations });
    this.needsConfigEntry = true;
    campaign(this, 'election', false);
  }

  private checkAdmitted(): void {
    if (this.discovery && isAdmitted(this, this.discovery.incarnation)) this.discovery = null;
  }

  private takePendingRestore(): SnapshotMeta | null {
    const restore = this.pendingRestore;
    this.pendingRestore = null;
    return restore;
  }

  private hasEntriesToSend(): boolean {
    for (const pr of this.progress.values())
      if (pr.next <= this.log.lastIndex() && !pr.isPaused()) return true;
    return false;
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  private softStateChanged(): boolean {
    const s = this.lastSoftState;
    return s.role !== this.role || s.leader !== this.leader || s.term !== this.term;
  }

  private hardStateChanged(): boolean {
    const h = this.lastHardState;
    return h.term !== this.term || h.vote !== this.vote || h.commit !== this.log.committed;
  }
}

const RESPONSE_TYPES: ReadonlySet<Message['type']> = new Set([
  'append-response',
  'heartbeat-response',
  'vote-response',
  'pre-vote-response',
]);

/** The answers a leader or candidate counts: each says which process of the member sent it. */
function isResponse(message: OutgoingMessage): boolean {
  return RESPONSE_TYPES.has(message.type);
}
