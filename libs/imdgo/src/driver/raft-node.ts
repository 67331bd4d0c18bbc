import { Logger } from '@nestjs/common';
import {
  BusyError,
  InvalidArgumentError,
  NoLeaderError,
  RequestTimeoutError,
  StoppedError,
  ValueTooLargeError,
} from '../errors.ts';
import { Raft, type RaftConfig, type RaftOptions } from '../raft/index.ts';
import type { RandomSource } from '../raft/random.ts';
import type { ConfigChange, Entry, Message, NodeId, Ready, SnapshotMeta, SoftState } from '../raft/types.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import {
  parseCommand,
  encodeCommand,
  encodedSize,
  stampCommands,
  type CommandResult,
  type KvCommand,
  type LoggedCommand,
  type StoreLimit,
} from '../state-machine/commands.ts';
import { isConfigChange } from '../raft/membership.ts';
import type { KvRecord } from '../state-machine/kv-record.ts';
import { KvStateMachine } from '../state-machine/kv-state-machine.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import { PeerTransportError } from '../transport/peer-transport-error.ts';
import { ClientSession } from './client-session.ts';
import { SnapshotTransfer, type SnapshotChunk } from './snapshot-transfer.ts';
import { ForwardBatcher } from './forward-batcher.ts';
import { unpackCommands } from './forward-block.ts';
import { outcomeOf, type ForwardOutcome } from './forward-outcome.ts';
import { afterWrite, aheadOfDisk, type DurablePoint } from './ahead-of-disk.ts';
import { persistReady } from './persist-ready.ts';
import type { ClusterStatus, MemberStatus } from './cluster-status.ts';
import { NO_OBSERVER, type NodeObserver } from './node-observer.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';
import { toRaftMessage } from './wire-validation.ts';
import { delay, systemScheduler, type Scheduler, type TimerHandle } from './scheduler.ts';

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Members to probe when this node has no state (discovery.ts); the cluster's own configuration rules after. */
  readonly members: readonly NodeId[];
  /** This process's identity: new on every start in memory mode, kept in the data directory otherwise. */
  readonly incarnation: string;
  /** Members that join on their own are promoted only while the voters are fewer (discovery.ts); default no cap. */
  readonly maxVoters?: number;
  /** Applied entries between two snapshots of the state machine. */
  readonly snapshotThreshold: number;
  /** Entries kept before a snapshot's index (default: the core's); tests lower it to force installs. */
  readonly snapshotTrailingEntries?: number;
  /** The memory cap this node stamps into the entries it appends as leader, or null for none. */
  readonly storeLimit: StoreLimit | null;
  /** Writes in flight (started here, or queued here as leader) beyond which new ones fail with BusyError. */
  readonly maxPendingWrites: number;
  readonly transport: PeerTransport;
  readonly storage: RaftStorage;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** How long a write or read may wait for a leader, forwarding and commit before it fails. */
  readonly requestTimeoutMs: number;
  readonly random: RandomSource;
  readonly onChange: (change: ChangeEvent) => void;
  /** The state machine jumped to a snapshot at `revision`: the changes up to it were not emitted. */
  readonly onReset?: (revision: number) => void;
  readonly onRoleChange?: (state: SoftState) => void;
  readonly observer?: NodeObserver;
  /** Clocks and timers; the simulator passes virtual ones. */
  readonly scheduler?: Scheduler;
  /** This node's client id in the session table; random by default. */
  readonly sessionClient?: string;
  /** Core settings beyond the timing above (the simulator varies them per seed); the core's defaults otherwise. */
  readonly raftTuning?: Partial<
    Pick<
      RaftConfig,
      | 'preVote'
      | 'checkQuorum'
      | 'maxMessageBytes'
      | 'maxInflightMessages'
      | 'snapshotTrailingEntries'
      | 'quiesce'
      | 'testOnlyBugs'
    >
  >;
  /** Deliberately broken behaviours, only for the simulator's tests that prove its checks bite. */
  readonly testOnlyBugs?: DriverTestOnlyBugs;
}

export interface DriverTestOnlyBugs {
  /** Persist a Ready's hard state and entries before installing the snapshot it carries (issue 10, bug 2). */
  readonly persistReadyBeforeSnapshot?: boolean;
  /** Send every message and apply every committed entry of a Ready before writing it (ahead-of-disk.ts). */
  readonly sendAheadOfDisk?: boolean;
  /** Drop a proposal's waiter at its deadline without failing it, so that its write never settles. */
  readonly dropExpiredWaiters?: boolean;
}

/** What followers send the leader over the request channel. */
type PeerRequest =
  | { readonly kind: 'config'; readonly change: ConfigChange }
  | SnapshotChunk
  | { readonly kind: 'get'; readonly map: string; readonly key: string }
  | { readonly kind: 'status' }
  | { readonly kind: 'transfer'; readonly target: NodeId | null };

interface PendingProposal {
  /** The term it was proposed in; 0 while it waits in the queue (set then rather than copied with it). */
  term: number;
  /** The command as this leader parsed it to check a forwarded write, handed to the apply. */
  readonly parsed?: LoggedCommand;
  /** When the waiter gives up retryably (ms since the epoch): the entry may never be applied here. */
  readonly deadline: number;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: Error) => void;
}

interface ReadWaiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
}

/** Thrown inside the write loop for attempts that certainly did not take effect and may be retried. */
class RetryableError extends Error {}

/** A call forwarded to a node this one no longer knows as the leader: re-sent at once to the one it knows. */
class LeaderChangedError extends RetryableError {}

/** A call forwarded to `leader`, given up as soon as this node knows another leader or none. */
interface ForwardedCall {
  readonly leader: NodeId;
  readonly abandon: () => void;
}

const EXPIRE_BATCH = 256;
/** Election timeouts of silence from a majority before `forceNewCluster` is allowed. */
const FORCE_QUIET_ELECTIONS = 3;
const DATA_LOSS = 'formed a new empty cluster: data from before was lost';

/**
 * The node driver: owns the timer, the transport, storage and the apply pipeline around the pure core.
 * Inputs arriving in one event-loop turn are handled together: proposals become one batch, all messages to
 * a peer one frame, and all linearizable reads one ReadIndex round.
 */
export class RaftNode {
  readonly machine = new KvStateMachine();
  private readonly logger: Logger;
  private readonly options: RaftNodeOptions;
  private raft!: Raft;
  private readonly session: ClientSession;
  private readonly clock: Scheduler;
  private timer: TimerHandle | null = null;
  private processing = false;
  private scheduled = false;
  private stopped = false;
  private started = false;

  private proposalQueue: { data: Uint8Array; pending: PendingProposal }[] = [];
  private readonly proposals = new Map<number, PendingProposal>();
  private readQueue: ReadWaiter[] = [];
  private nextReadId = 1;
  /** Read batches sent to the core, by request id, with the tick they were issued at (to reissue if lost). */
  private readonly readBatches = new Map<number, { waiters: ReadWaiter[]; issuedTick: number }>();
  /** Read batches whose index is known, waiting for the state machine to catch up. */
  private readonly readsAwaitingApply: { index: number; waiters: ReadWaiter[] }[] = [];
  private ticks = 0;
  private leaderWaiters: (() => void)[] = [];
  /** Woken whenever entries are applied or the role changes: `leader` reads wait on them. */
  private applyWaiters: (() => void)[] = [];
  /** Term of the last entry (or snapshot) the state machine applied. */
  private appliedTerm = 0;
  /** What storage holds durably, as of the last Ready written. */
  private durable: DurablePoint = { term: 0, vote: null, lastIndex: 0 };
  private readonly lastContact = new Map<NodeId, number>();
  private readonly configWaiters = new Map<number, PendingProposal>();
  private readonly observer: NodeObserver;
  private readonly snapshots: SnapshotTransfer;
  private readonly forwards: ForwardBatcher;
  private knownLeader: NodeId | null = null;
  private readonly forwardedCalls = new Set<ForwardedCall>();
  private writesInFlight = 0;
  private lossReported = false;

  constructor(options: RaftNodeOptions) {
    this.options = options;
    this.logger = new Logger(`imdgo ${options.id}`);
    this.observer = options.observer ?? NO_OBSERVER;
    this.clock = options.scheduler ?? systemScheduler;
    this.session = new ClientSession(options.sessionClient);
    this.forwards = new ForwardBatcher(options.transport, this.clock);
    this.snapshots = new SnapshotTransfer({
      raft: () => this.raft,
      machine: () => this.machine,
      storage: options.storage,
      transport: options.transport,
      logger: this.logger,
      observer: this.observer,
      requestTimeoutMs: options.requestTimeoutMs,
      snapshotThreshold: options.snapshotThreshold,
      isStopped: () => this.stopped,
      schedule: () => this.schedule(),
      scheduler: this.clock,
    });
  }

  get id(): NodeId {
    return this.options.id;
  }

  async start(): Promise<void> {
    const stored = await this.options.storage.load();
    const raftOptions: RaftOptions = {
      ...this.options.raftTuning,
      id: this.options.id,
      voters: [],
      random: this.options.random,
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      ...(this.options.snapshotTrailingEntries === undefined
        ? {}
        : { snapshotTrailingEntries: this.options.snapshotTrailingEntries }),
      discovery: {
        members: this.options.members,
        incarnation: this.options.incarnation,
        ...(this.options.maxVoters === undefined ? {} : { maxVoters: this.options.maxVoters }),
      },
    };
    if (stored.snapshot) {
      this.machine.restore(stored.snapshot.data);
      this.snapshots.restoredFrom(stored.snapshot);
      this.appliedTerm = stored.snapshot.term;
      this.options.onReset?.(stored.snapshot.index);
    }
    this.raft = new Raft(raftOptions, stored);
    const lastStored = stored.entries[stored.entries.length - 1]?.index ?? stored.snapshot?.index ?? 0;
    this.durable = { term: stored.hardState.term, vote: stored.hardState.vote, lastIndex: lastStored };
    this.options.transport.onMessage((from, body) => this.receive(from, body));
    this.options.transport.onRequest((from, payload) => this.answer(from, payload));
    this.options.transport.onPeerDown((peer) => {
      if (this.stopped) return;
      this.raft.peerUnreachable(peer);
      this.schedule();
    });
    await this.options.transport.start();
    this.timer = this.clock.setInterval(() => this.tick(), this.options.tickMs);
    this.started = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.clock.clearInterval(this.timer);
    this.timer = null;
    const stopped = new StoppedError();
    for (const p of this.proposals.values()) p.reject(stopped);
    this.proposals.clear();
    for (const { pending } of this.proposalQueue) pending.reject(stopped);
    for (const waiter of this.configWaiters.values()) waiter.reject(stopped);
    this.configWaiters.clear();
    this.proposalQueue = [];
    for (const waiter of this.allReadWaiters()) waiter.reject(stopped);
    this.readQueue = [];
    this.readBatches.clear();
    this.readsAwaitingApply.length = 0;
    for (const wake of this.leaderWaiters.splice(0)) wake();
    for (const wake of this.applyWaiters.splice(0)) wake();
    await this.options.transport.stop();
    await this.options.storage.close();
  }

  /** This node's view of the cluster; complete only on the leader. */
  localStatus(): ClusterStatus {
    const raft = this.raft.status();
    const now = this.clock.now();
    const ids = [...raft.config.voters, ...raft.config.learners];
    if (!ids.includes(this.id)) ids.push(this.id);
    const members = ids.map((id): MemberStatus => {
      const contact = id === this.id ? now : this.lastContact.get(id);
      const progress = raft.progress.get(id);
      const matchIndex = id === this.id ? raft.lastIndex : (progress?.match ?? null);
      return {
        id,
        voter: raft.config.voters.includes(id),
        role:
          id === this.id
            ? raft.role
            : id === raft.leader
              ? 'leader'
              : raft.role === 'leader'
                ? 'follower'
                : 'unknown',
        matchIndex,
        lag: raft.role === 'leader' && matchIndex !== null ? raft.lastIndex - matchIndex : null,
        lastContactMs: contact === undefined ? null : now - contact,
      };
    });
    return {
      nodeId: this.id,
      leader: raft.leader,
      term: raft.term,
      role: raft.role,
      commitIndex: raft.commit,
      appliedIndex: this.machine.appliedIndex,
      lastIndex: raft.lastIndex,
      configCommitted: this.raft.membership.currentIndex <= raft.commit,
      members,
    };
  }

  /** The leader's view of the cluster, or this node's own when no leader answers. */
  async clusterStatus(): Promise<ClusterStatus> {
    const leader = this.raft.leader;
    if (leader === null || leader === this.id) return this.localStatus();
    try {
      return await this.options.transport.request<ClusterStatus>(
        leader,
        { kind: 'status' },
        this.options.tickMs * 5,
      );
    } catch {
      return this.localStatus();
    }
  }

  /**
   * Hands leadership to `target` (default: the most caught-up follower) and resolves with the new leader,
   * asking the leader to do it when this node is a follower.
   */
  async transferLeadership(target: NodeId | null = null): Promise<NodeId> {
    this.assertRunning();
    const deadline = this.clock.now() + this.options.requestTimeoutMs;
    const leader = await this.awaitLeader(deadline);
    if (leader !== this.id) {
      const request: PeerRequest = { kind: 'transfer', target };
      return this.options.transport.request<NodeId>(leader, request, this.attemptTimeout(deadline));
    }
    const chosen = target ?? this.raft.transferCandidate();
    if (chosen === null || chosen === this.id) return this.id;
    const transfer = this.raft.transferLeadership(chosen);
    if (!transfer.ok) {
      const what = transfer.reason === 'not-admitted-voter' ? 'an admitted voter' : 'a member';
      throw new InvalidArgumentError(`${chosen} is not ${what}`);
    }
    this.schedule();
    const began = this.clock.now();
    for (;;) {
      const now = this.raft.leader;
      if (now !== null && now !== this.id) return now;
      // Still leading with no transfer under way: the core gave it up after an election timeout (the target
      // did not take over: it is down, say). Waiting on would hold its caller for nothing.
      const abandoned = this.raft.role === 'leader' && this.raft.leadTransferee === null;
      if (abandoned) throw new RequestTimeoutError('leadership transfer', this.clock.now() - began);
      if (this.clock.now() >= deadline)
        throw new RequestTimeoutError('leadership transfer', this.options.requestTimeoutMs);
      await delay(this.clock, this.options.tickMs);
    }
  }

  /**
   * Whether this process holds a voter seat in the current configuration: a node that lost its memory is
   * not one until it has been readmitted and promoted, whatever its configuration says of its old seat.
   */
  isSeatedVoter(): boolean {
    const config = this.raft.membership.current;
    const seat = config.incarnations?.[this.id] ?? this.options.incarnation;
    return (
      this.raft.discovery === null && config.voters.includes(this.id) && seat === this.options.incarnation
    );
  }

  /**
   * On the leader: the incarnation of the process of member `id` that answered last; null when none answered
   * yet or this node does not lead. A restarted process keeps the member's contact times fresh under the old
   * process's id: this tells which one is talking.
   */
  answeringIncarnation(id: NodeId): string | null {
    return this.raft.role === 'leader' ? (this.raft.progress.get(id)?.incarnation ?? null) : null;
  }

  /** While this node has no seat: probing the members, or joining the cluster one of them answered for. */
  discoveryPhase(): 'probing' | 'joining' | null {
    const discovery = this.raft.discovery;
    if (discovery === null) return null;
    return discovery.joining ? 'joining' : 'probing';
  }

  /** Set when discovery saw the cluster this node was joining vanish: the data it held is gone. */
  dataLoss(): string | null {
    return this.raft.lostCluster ? DATA_LOSS : null;
  }

  /**
   * Unsafe recovery when a majority of the voters lost their memory: this node becomes the sole voter of a
   * new configuration with everything it holds (see Raft.forceNewCluster). Resolves once that is applied.
   */
  async forceNewCluster(): Promise<void> {
    this.assertRunning();
    this.assertMajorityLost();
    const result = this.raft.forceNewCluster();
    if (!result.ok) throw new InvalidArgumentError(result.message);
    this.logger.warn(
      `forced a new cluster with this node as its only voter, at index ${this.raft.log.lastIndex()}`,
    );
    this.schedule();
    await this.linearizableBarrier();
  }

  /**
   * Forcing is for a majority that is gone, not for an ordinary election: refused while this node heard
   * from a majority of the voters (itself included) within the last few election timeouts.
   */
  private assertMajorityLost(): void {
    const quietMs = FORCE_QUIET_ELECTIONS * this.options.electionTicks * this.options.tickMs;
    const now = this.clock.now();
    const voters = this.raft.status().config.voters;
    const heard = voters.filter(
      (id) => id === this.id || now - (this.lastContact.get(id) ?? Number.NEGATIVE_INFINITY) < quietMs,
    );
    if (heard.length > voters.length / 2) {
      throw new InvalidArgumentError(
        `a majority of the voters may still be up (heard from ${heard.join(', ')} within ${quietMs} ms): ` +
          'let it elect a leader, or wait until it has been silent that long',
      );
    }
  }

  isLeader(): boolean {
    return this.started && this.raft.role === 'leader';
  }

  /**
   * Replicates a write and returns its result once applied here. On a follower it is forwarded to the
   * leader; retries (after a lost reply, a leader change) reuse the session stamp, so it applies at most once.
   */
  async write(command: KvCommand, maxValueBytes = Number.POSITIVE_INFINITY): Promise<CommandResult> {
    this.assertRunning();
    // Overload: a bounded queue and a clear error beat unbounded memory and ever-growing latency.
    if (this.writesInFlight >= this.options.maxPendingWrites) throw new BusyError(this.writesInFlight);
    const stamp = this.session.begin();
    this.writesInFlight++;
    try {
      // No time and no cap here: the leader stamps both when it appends the entry (submitProposals).
      const data = encodable({ session: stamp, command });
      // A command within the limit holds a value within it; only a larger one is measured exactly.
      if (data.byteLength > maxValueBytes && 'value' in command) {
        const valueBytes = encodedSize(command.value);
        if (valueBytes > maxValueBytes) throw new ValueTooLargeError(valueBytes, maxValueBytes);
      }
      const started = this.clock.monotonic();
      const result = await this.writeEncoded(data, command);
      this.observer.writeCompleted((this.clock.monotonic() - started) / 1000, !this.isLeader());
      return result;
    } finally {
      this.writesInFlight--;
      this.session.end(stamp.seq);
    }
  }

  /**
   * Replicates a command another node encoded under its own session stamp (a grid node routing a write for
   * a partition it holds no replica of): its retries, through this node or another replica, apply at most once.
   */
  async writeStamped(data: Uint8Array): Promise<CommandResult> {
    this.assertRunning();
    const parsed = parseCommand(data);
    if (typeof parsed === 'string') throw new InvalidArgumentError(`refused a routed write: ${parsed}`);
    if (parsed.session === undefined) throw new InvalidArgumentError('a routed write must carry a session');
    if (this.writesInFlight >= this.options.maxPendingWrites) throw new BusyError(this.writesInFlight);
    this.writesInFlight++;
    try {
      return await this.writeEncoded(data, parsed.command, parsed);
    } finally {
      this.writesInFlight--;
    }
  }

  /** Resolves once this node's state reflects every write acknowledged before the call (ReadIndex). */
  linearizableBarrier(timeoutMs = this.options.requestTimeoutMs): Promise<void> {
    this.assertRunning();
    return new Promise((resolve, reject) => {
      this.readQueue.push({ resolve, reject, deadline: this.clock.now() + timeoutMs });
      this.schedule();
    });
  }

  /**
   * On the leader, resolves once it has applied an entry of its own term; elsewhere (or if it stops leading
   * meanwhile) waits for a ReadIndex round, which is at least as fresh.
   */
  async leaderBarrier(): Promise<void> {
    this.assertRunning();
    const deadline = this.clock.now() + this.options.requestTimeoutMs;
    if (!(await this.awaitOwnTermApplied(deadline))) await this.linearizableBarrier();
  }

  /** A read served by the leader's state, without a ReadIndex round (may be stale during a partition). */
  async leaderRead(map: string, key: string): Promise<KvRecord | undefined> {
    this.assertRunning();
    const deadline = this.clock.now() + this.options.requestTimeoutMs;
    for (;;) {
      if (await this.awaitOwnTermApplied(deadline)) return this.machine.get(map, key);
      const leader = await this.awaitLeader(deadline);
      if (leader === this.id) continue;
      try {
        const request: PeerRequest = { kind: 'get', map, key };
        const reply = await this.whileLeading(
          leader,
          this.options.transport.request<{ record: KvRecord | null }>(
            leader,
            request,
            this.attemptTimeout(deadline),
          ),
        );
        return reply.record ?? undefined;
      } catch (error) {
        if (this.clock.now() >= deadline)
          throw new RequestTimeoutError('leader read', this.options.requestTimeoutMs);
        this.logger.debug(`leader read via ${leader} failed, retrying: ${(error as Error).message}`);
        if (!(error instanceof LeaderChangedError)) await delay(this.clock, this.options.tickMs);
      }
    }
  }

  /**
   * Applies one single-server configuration change through the leader and resolves once it is applied
   * here. Retried while the leader cannot take it yet (no entry of its term committed, or another change
   * pending).
   */
  async changeMembership(change: ConfigChange): Promise<void> {
    this.assertRunning();
    const deadline = this.clock.now() + this.options.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const leader = await this.awaitLeader(deadline);
      try {
        if (leader !== this.id) {
          const request: PeerRequest = { kind: 'config', change };
          await this.whileLeading(
            leader,
            this.options.transport.request(leader, request, this.attemptTimeout(deadline)),
          );
          return;
        }
        const result = this.raft.proposeConfigChange(change);
        if (result.ok) {
          this.schedule();
          await new Promise<CommandResult>((resolve, reject) =>
            this.awaitEntry(this.configWaiters, result.index, {
              term: result.term,
              deadline: this.clock.now() + this.attemptTimeout(deadline),
              resolve,
              reject,
            }),
          );
          return;
        }
        if (result.reason === 'invalid') throw new InvalidArgumentError(result.message);
        throw new RetryableError(result.message);
      } catch (error) {
        if (error instanceof StoppedError) throw error;
        const message = (error as Error).message;
        // An earlier attempt whose outcome was unknown may have made the change: then it is done.
        if (attempt > 1 && madeAlready(change, message)) return;
        if (error instanceof InvalidArgumentError) throw error;
        if (/is already a member|is not a (member|learner)|cannot remove/.test(message)) {
          throw new InvalidArgumentError(message);
        }
        if (this.clock.now() >= deadline)
          throw new RequestTimeoutError('membership change', this.options.requestTimeoutMs);
        if (!(error instanceof LeaderChangedError)) await delay(this.clock, this.options.tickMs);
      }
    }
  }

  /** Whether `id` holds everything the leader has committed (asked of the leader). */
  async isCaughtUp(id: NodeId): Promise<boolean> {
    const status = await this.clusterStatus();
    const member = status.members.find((m) => m.id === id);
    return member?.matchIndex !== null && member !== undefined && member.matchIndex >= status.commitIndex;
  }

  // ---- write path ----

  /**
   * `command`: the one `data` holds (a forwarded result may refer to its value); `parsed`: all of `data`
   * when this node checked it already (a leader proposes it as it is).
   */
  private async writeEncoded(
    data: Uint8Array,
    command: KvCommand,
    parsed?: LoggedCommand,
  ): Promise<CommandResult> {
    const deadline = this.clock.now() + this.options.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new StoppedError();
      // Read at once when known: a write that awaits nothing here saves a promise.
      const leader = this.raft.leader ?? (await this.awaitLeader(deadline));
      try {
        if (leader === this.id) return await this.proposeLocal(data, this.attemptTimeout(deadline), parsed);
        // The batcher gives the write up once this node knows another leader or none (onSoftState).
        return await this.forwards.forward(leader, data, command, this.attemptTimeout(deadline));
      } catch (error) {
        if (error instanceof StoppedError) throw error;
        const busy =
          error instanceof BusyError ||
          (error instanceof PeerTransportError &&
            error.code === 'remote' &&
            error.message.includes('too many writes'));
        // The leader refused it as overloaded: not applied, and retrying now only adds load. Only a first
        // attempt proves that: an earlier attempt may still commit, so a later one retries until the deadline.
        if (busy && attempt === 1) {
          throw error instanceof BusyError ? error : new BusyError(this.options.maxPendingWrites);
        }
        if (this.clock.now() >= deadline)
          throw new RequestTimeoutError('write', this.options.requestTimeoutMs);
        // Lost leadership, a lost entry, or a peer that did not answer: the same stamped command goes again,
        // at once when this node knows the leader moved (the new one may already have it: it answers once).
        if (error instanceof LeaderChangedError) continue;
        await delay(this.clock, Math.min(this.options.tickMs, Math.max(1, deadline - this.clock.now())));
      }
    }
  }

  /**
   * Settles as `call` does, or fails with LeaderChangedError once this node knows a leader other than
   * `leader`, or none: a call stuck at a paused or cut-off leader then goes to the new one, not waiting out
   * its timeout. The old leader may still apply it; the retry carries the same session stamp.
   */
  private whileLeading<T>(leader: NodeId, call: Promise<T>): Promise<T> {
    if (this.raft.leader !== leader)
      return Promise.reject(new LeaderChangedError(`${leader} no longer leads`));
    return new Promise<T>((resolve, reject) => {
      const forwarded: ForwardedCall = {
        leader,
        abandon: () => reject(new LeaderChangedError(`${leader} no longer leads`)),
      };
      this.forwardedCalls.add(forwarded);
      call.then(
        (value) => {
          this.forwardedCalls.delete(forwarded);
          resolve(value);
        },
        (error: unknown) => {
          this.forwardedCalls.delete(forwarded);
          reject(error);
        },
      );
    });
  }

  /** One forwarding attempt waits at most two election timeouts, so a write outlives a partitioned leader. */
  private attemptTimeout(deadline: number): number {
    const twoElections = 2 * this.options.electionTicks * this.options.tickMs;
    return Math.max(1, Math.min(twoElections, deadline - this.clock.now()));
  }

  /**
   * Proposes as leader and settles once the entry is applied here, or fails retryably after `timeoutMs`
   * (checked every tick), as a forwarding attempt does: the entry may never be applied here (a snapshot
   * covers it, this leader is cut off); the writer's retry under the same stamp gets the first result.
   */
  private proposeLocal(data: Uint8Array, timeoutMs: number, parsed?: LoggedCommand): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const deadline = this.clock.now() + timeoutMs;
      const busy = this.enqueueProposal(data, { term: 0, resolve, reject, deadline, parsed });
      if (busy) reject(busy);
    });
  }

  /** Queues a proposal for the next batch; a BusyError instead when too many wait already. */
  private enqueueProposal(data: Uint8Array, pending: PendingProposal): BusyError | null {
    const queued = this.proposalQueue.length + this.proposals.size;
    if (queued >= this.options.maxPendingWrites) return new BusyError(queued);
    this.proposalQueue.push({ data, pending });
    this.schedule();
    return null;
  }

  /** Waiters for entries not applied by their deadline give up; the entries may still apply, at most once. */
  private expireProposals(): void {
    const now = this.clock.now();
    for (const waiters of [this.proposals, this.configWaiters]) {
      for (const [index, waiter] of waiters) {
        if (waiter.deadline > now) continue;
        waiters.delete(index);
        if (this.options.testOnlyBugs?.dropExpiredWaiters) continue;
        waiter.reject(new RetryableError('entry not applied here in time'));
      }
    }
  }

  /**
   * Whether this node leads, once it has applied an entry of its own term (its no-op): a new leader's state
   * may lack writes its predecessor acknowledged until then. False as soon as it does not lead.
   */
  private async awaitOwnTermApplied(deadline: number): Promise<boolean> {
    for (;;) {
      if (this.stopped) throw new StoppedError();
      if (this.raft.role !== 'leader') return false;
      if (this.appliedTerm === this.raft.term) return true;
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) throw new RequestTimeoutError('leader read', this.options.requestTimeoutMs);
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, remaining);
        this.applyWaiters.push(() => {
          this.clock.clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private async awaitLeader(deadline: number): Promise<NodeId> {
    for (;;) {
      if (this.stopped) throw new StoppedError();
      const leader = this.raft.leader;
      if (leader !== null) return leader;
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) throw new NoLeaderError(this.options.requestTimeoutMs);
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, remaining);
        this.leaderWaiters.push(() => {
          this.clock.clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  // ---- inputs ----

  private tick(): void {
    this.ticks++;
    // A quiet group with nothing waiting costs a few comparisons a tick: hundreds of them are idle.
    if (this.raft.quiesced && this.nothingWaiting()) return;
    this.raft.tick();
    if (this.raft.lostCluster && !this.lossReported) {
      this.lossReported = true;
      this.logger.error(`every member lost its memory: ${DATA_LOSS}`);
    }
    this.expireReadWaiters();
    this.expireProposals();
    this.reissueLostReads();
    if (this.raft.role === 'leader') this.proposeExpiries();
    this.schedule();
  }

  /** Throwing makes the transport close the connection, with one log line for a whole bad frame. */
  private receive(from: string, body: unknown): void {
    if (this.stopped) return;
    if (!Array.isArray(body)) throw new Error(`malformed Raft batch from ${from}`);
    this.lastContact.set(from, this.clock.now());
    for (const raw of body) {
      const message = toRaftMessage(raw);
      // A snapshot is stepped only with its image, from the last chunk of a transfer.
      if (!message || message.from !== from || message.to !== this.id || message.type === 'snapshot') {
        this.schedule();
        throw new Error(`malformed or misaddressed Raft message from ${from}`);
      }
      this.raft.step(message);
    }
    this.schedule();
  }

  /** The forwarded command in `data`, once checked: throws if it may not be proposed here. */
  private checkForwarded(data: Uint8Array): LoggedCommand {
    // Only a well-formed command may reach the log, where every node would have to apply it.
    const parsed = parseCommand(data);
    if (typeof parsed === 'string') throw new Error(`refused a forwarded write: ${parsed}`);
    if (this.raft.role !== 'leader') {
      throw new RetryableError(`not the leader (leader: ${this.raft.leader ?? 'unknown'})`);
    }
    this.observer.forwardedWriteServed();
    return parsed;
  }

  /** How long a forwarded write waits here for its entry to apply, as an attempt of a local one. */
  private forwardedTimeout(): number {
    return this.attemptTimeout(this.clock.now() + this.options.requestTimeoutMs);
  }

  /**
   * The outcomes of a forwarded batch, in order; each command's failure is its own, the others still go
   * through. Its proposals settle the outcomes directly: a promise and an async call per command cost
   * the leader more than the rest of answering.
   */
  private answerBatch(commands: readonly Uint8Array[]): Promise<ForwardOutcome[]> {
    // unpackCommands refuses an empty block; should one come anyway, it must not wait forever.
    if (commands.length === 0) return Promise.resolve([]);
    // One deadline for the batch: its commands arrived together.
    const deadline = this.clock.now() + this.forwardedTimeout();
    return new Promise((resolve) => {
      const outcomes: ForwardOutcome[] = [];
      let unsettled = commands.length;
      const settle = (i: number, outcome: ForwardOutcome): void => {
        outcomes[i] = outcome;
        if (--unsettled === 0) resolve(outcomes);
      };
      commands.forEach((data, i) => {
        const fail = (error: unknown): void =>
          settle(i, error instanceof Error ? error.message : String(error));
        try {
          const parsed = this.checkForwarded(data);
          const busy = this.enqueueProposal(data, {
            term: 0,
            resolve: (result) => settle(i, outcomeOf(result, parsed.command)),
            reject: fail,
            deadline,
            parsed,
          });
          if (busy) fail(busy);
        } catch (error) {
          fail(error);
        }
      });
    });
  }

  private async answer(_from: string, payload: unknown): Promise<unknown> {
    if (this.stopped) throw new StoppedError();
    // A forwarded batch (forward-batcher.ts) is the one request that is binary: a block of commands.
    if (payload instanceof Uint8Array) {
      const commands = unpackCommands(payload);
      if (commands === null) throw new Error('malformed forwarded batch');
      return this.answerBatch(commands);
    }
    const request = payload as PeerRequest;
    if (request?.kind === 'get' && typeof request.map === 'string' && typeof request.key === 'string') {
      const deadline = this.clock.now() + this.options.requestTimeoutMs;
      if (!(await this.awaitOwnTermApplied(deadline))) throw new RetryableError('not the leader');
      return { record: this.machine.get(request.map, request.key) ?? null };
    }
    if (request?.kind === 'status') return this.localStatus();
    if (request?.kind === 'snapshot-chunk') return this.snapshots.receiveChunk(_from, request);
    if (request?.kind === 'config' && isConfigChange(request.change)) {
      if (this.raft.role !== 'leader') throw new RetryableError('not the leader');
      return this.changeMembership(request.change);
    }
    if (request?.kind === 'transfer' && (request.target === null || typeof request.target === 'string')) {
      if (this.raft.role !== 'leader') throw new RetryableError('not the leader');
      return this.transferLeadership(request.target);
    }
    throw new Error('malformed request');
  }

  // ---- the loop ----

  private schedule(): void {
    if (this.scheduled || this.stopped || !this.started) return;
    this.scheduled = true;
    // setImmediate, not a microtask: everything that arrived in this I/O turn joins one batch.
    this.clock.defer(() => {
      this.scheduled = false;
      void this.process();
    });
  }

  private async process(): Promise<void> {
    if (this.processing || this.stopped) return;
    this.processing = true;
    try {
      // Writes forwarded in this turn (their answers resolved writers that wrote again) leave first: the
      // commit that scheduled this turn tends to arrive just before the answer, and its apply would delay them.
      this.forwards.flushAll();
      this.submitProposals();
      this.submitReads();
      while (!this.stopped && this.raft.hasReady()) {
        const ready = this.raft.ready();
        // With a disk, the write is an fsync: replicating and applying what is durable already overlap it.
        const ahead = this.options.testOnlyBugs?.sendAheadOfDisk
          ? {
              messages: ready.messages,
              laterMessages: [],
              committed: ready.committedEntries,
              laterCommitted: [],
            }
          : aheadOfDisk(ready, this.durable);
        this.sendMessages(ahead.messages);
        const writing = persistReady(
          this.options.storage,
          ready,
          (snapshot) => this.installSnapshot(snapshot),
          this.options.testOnlyBugs?.persistReadyBeforeSnapshot,
        );
        if (writing) {
          this.applyEntries(ahead.committed);
          await writing;
        }
        this.durable = afterWrite(this.durable, ready);
        if (this.stopped) return;
        // Written at once (memory): the answers go before the apply, so a follower's acknowledgement of
        // the next entries, which the leader's commit waits for, does not wait for applying the last ones.
        this.sendMessages(ahead.laterMessages);
        if (!writing) this.applyEntries(ahead.committed);
        this.applyEntries(ahead.laterCommitted);
        void this.snapshots.maybeSnapshot();
        this.handleReads(ready);
        if (ready.softState) this.onSoftState(ready.softState);
      }
    } catch (error) {
      // Storage or state-machine failure: going on could apply or acknowledge what is not durable. Halt.
      this.logger.error(`halting: processing failed: ${(error as Error).stack ?? error}`);
      void this.stop();
    } finally {
      this.processing = false;
    }
    if (this.proposalQueue.length > 0 || (this.readQueue.length > 0 && this.raft.leader !== null)) {
      this.schedule();
    }
  }

  /**
   * The log up to the snapshot's index was replaced, so no entry there will be applied here: their waiters
   * settle now, retryably (a retry under the same stamp returns the first result if the entry was applied).
   */
  private async installSnapshot(snapshot: SnapshotMeta): Promise<void> {
    await this.snapshots.install(snapshot);
    this.appliedTerm = snapshot.term;
    const covered = new RetryableError(`entry covered by the installed snapshot at ${snapshot.index}`);
    for (const waiters of [this.proposals, this.configWaiters]) {
      for (const [index, waiter] of waiters) {
        if (index > snapshot.index) continue;
        waiters.delete(index);
        waiter.reject(covered);
      }
    }
    this.options.onReset?.(snapshot.index);
  }

  private submitProposals(): void {
    if (this.proposalQueue.length === 0) return;
    const batch = this.proposalQueue;
    this.proposalQueue = [];
    // The one time and cap every node applies these entries with (the state machine keeps time monotonic).
    const stamp = { time: this.clock.now(), storeLimit: this.options.storeLimit };
    const result = this.raft.proposeBatch(
      stampCommands(
        batch.map((p) => p.data),
        stamp,
      ),
    );
    if (!result.ok) {
      const error = new RetryableError(`proposal refused: ${result.reason}`);
      for (const { pending } of batch) pending.reject(error);
      return;
    }
    batch.forEach(({ pending }, i) => {
      pending.term = result.term;
      this.awaitEntry(this.proposals, result.firstIndex + i, pending);
    });
  }

  /**
   * Registers `waiter` for the entry at `index`. One still there waited for an entry of an earlier term that
   * a later leader's log replaced before this node applied that index (it was cut back, then led again):
   * it is failed retryably now, since nothing else would reach it once overwritten, and its caller would
   * wait for ever.
   */
  private awaitEntry(waiters: Map<number, PendingProposal>, index: number, waiter: PendingProposal): void {
    const replaced = waiters.get(index);
    if (replaced !== undefined) {
      if (replaced.term >= waiter.term) {
        throw new Error(
          `two proposals at index ${index} in term ${waiter.term}: Raft appends an index once per term`,
        );
      }
      replaced.reject(new RetryableError('entry replaced by a new leader'));
    }
    waiters.set(index, waiter);
  }

  private submitReads(): void {
    // Without a leader the core would drop them at once: they wait for one (onSoftState) or their deadline.
    if (this.readQueue.length === 0 || this.raft.leader === null) return;
    const waiters = this.readQueue;
    this.readQueue = [];
    const requestId = this.nextReadId++;
    this.observer.readIndexRound(waiters.length);
    this.readBatches.set(requestId, { waiters, issuedTick: this.ticks });
    this.raft.readIndex(requestId);
  }

  private sendMessages(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const message of messages) {
      if (message.type === 'snapshot') {
        void this.snapshots.stream(message);
        continue;
      }
      const list = byPeer.get(message.to);
      if (list) list.push(message);
      else byPeer.set(message.to, [message]);
    }
    for (const [to, list] of byPeer) this.options.transport.send(to, list);
  }

  private applyEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const started = this.clock.monotonic();
    // By index: iterators and their results per entry, on every node, are garbage a for-of did not avoid.
    for (let e = 0; e < entries.length; e++) {
      const entry = entries[e]!;
      const pending = this.proposals.get(entry.index);
      // Same index, same term: the entry this leader appended for the proposal (Raft's log matching).
      const applied = this.machine.apply(entry, pending?.term === entry.term ? pending.parsed : undefined);
      this.snapshots.applied(entry.data.byteLength);
      const changes = applied.changes;
      for (let i = 0; i < changes.length; i++) this.options.onChange(changes[i]!);
      if (entry.kind === 'config') {
        // Links to members that left are closed; a later send to one reopens it.
        const { voters, learners } = this.raft.status().config;
        this.options.transport.retain?.([...voters, ...learners]);
      }
      const configWaiter = this.configWaiters.get(entry.index);
      if (configWaiter) {
        this.configWaiters.delete(entry.index);
        if (configWaiter.term === entry.term) configWaiter.resolve(NO_RESULT);
        else configWaiter.reject(new RetryableError('configuration entry replaced by a new leader'));
      }
      if (!pending) continue;
      this.proposals.delete(entry.index);
      if (pending.term !== entry.term || !applied.result) {
        // Another leader's entry took the index: ours was never committed and is retried by its writer.
        pending.reject(new RetryableError('entry replaced by a new leader'));
      } else {
        pending.resolve(applied.result);
      }
    }
    this.appliedTerm = entries[entries.length - 1]!.term;
    for (const wake of this.applyWaiters.splice(0)) wake();
    this.observer.entriesApplied(entries.length, (this.clock.monotonic() - started) / 1000);
    this.serveReadsUpTo(this.machine.appliedIndex);
  }

  private handleReads(ready: Ready): void {
    for (const { requestId, index } of ready.readStates) {
      const batch = this.readBatches.get(requestId);
      if (!batch) continue;
      this.readBatches.delete(requestId);
      this.readsAwaitingApply.push({ index, waiters: batch.waiters });
    }
    for (const requestId of ready.droppedReads) {
      const batch = this.readBatches.get(requestId);
      if (!batch) continue;
      this.readBatches.delete(requestId);
      // No leader to confirm with right now: asked again once one is known, until each waiter's deadline.
      this.readQueue.push(...batch.waiters);
    }
    this.serveReadsUpTo(this.machine.appliedIndex);
  }

  private serveReadsUpTo(applied: number): void {
    for (let i = this.readsAwaitingApply.length - 1; i >= 0; i--) {
      const batch = this.readsAwaitingApply[i]!;
      if (batch.index > applied) continue;
      this.readsAwaitingApply.splice(i, 1);
      for (const waiter of batch.waiters) waiter.resolve();
    }
  }

  /** A follower's read-index request or its answer can be lost: ask again after an election timeout. */
  private reissueLostReads(): void {
    for (const [requestId, batch] of this.readBatches) {
      if (this.ticks - batch.issuedTick < this.options.electionTicks) continue;
      this.readBatches.delete(requestId);
      this.readQueue.push(...batch.waiters);
    }
  }

  private expireReadWaiters(): void {
    const now = this.clock.now();
    const expired = (w: ReadWaiter): boolean => {
      if (w.deadline > now) return false;
      w.reject(
        this.raft.leader === null
          ? new NoLeaderError(this.options.requestTimeoutMs)
          : new RequestTimeoutError('linearizable read', this.options.requestTimeoutMs),
      );
      return true;
    };
    this.readQueue = this.readQueue.filter((w) => !expired(w));
    for (const batch of this.readBatches.values()) batch.waiters = batch.waiters.filter((w) => !expired(w));
    for (const batch of this.readsAwaitingApply) batch.waiters = batch.waiters.filter((w) => !expired(w));
  }

  /** TTL expiry is decided by the leader and goes through the log, so every node expires the same keys. */
  private proposeExpiries(): void {
    const due = this.machine.dueExpiries(this.clock.now(), EXPIRE_BATCH);
    for (const { map, key, revision } of due) {
      const data = encodeCommand({ command: { op: 'expire', map, key, revision } });
      this.proposalQueue.push({
        data,
        pending: { term: 0, resolve: noop, reject: noop, deadline: Infinity },
      });
    }
  }

  private onSoftState(state: SoftState): void {
    if (state.leader !== this.knownLeader) {
      this.knownLeader = state.leader;
      this.observer.leaderChanged();
    }
    for (const forwarded of this.forwardedCalls) {
      if (forwarded.leader === state.leader) continue;
      this.forwardedCalls.delete(forwarded);
      forwarded.abandon();
    }
    this.forwards.abandon(state.leader, (leader) => new LeaderChangedError(`${leader} no longer leads`));
    if (state.leader !== null) for (const wake of this.leaderWaiters.splice(0)) wake();
    for (const wake of this.applyWaiters.splice(0)) wake();
    this.options.onRoleChange?.(state);
  }

  /** No write, read or configuration change waits here, and (as leader) no key has a TTL to expire. */
  private nothingWaiting(): boolean {
    return (
      this.proposalQueue.length === 0 &&
      this.proposals.size === 0 &&
      this.configWaiters.size === 0 &&
      this.readQueue.length === 0 &&
      this.readBatches.size === 0 &&
      this.readsAwaitingApply.length === 0 &&
      (this.raft.role !== 'leader' || this.machine.expiryCount === 0)
    );
  }

  private allReadWaiters(): ReadWaiter[] {
    return [
      ...this.readQueue,
      ...[...this.readBatches.values()].flatMap((b) => b.waiters),
      ...this.readsAwaitingApply.flatMap((b) => b.waiters),
    ];
  }

  private assertRunning(): void {
    if (this.stopped || !this.started) throw new StoppedError();
  }
}

function noop(): void {}

/** Whether a refusal of `change` says the configuration already is what the change would make it. */
function madeAlready(change: ConfigChange, refusal: string): boolean {
  switch (change.type) {
    case 'add-learner':
      return refusal.includes(`${change.id} is already a member`);
    case 'promote':
      return refusal.includes(`${change.id} is not a learner`);
    case 'remove':
      return refusal.includes(`${change.id} is not a member`);
  }
}

/** Encodes, turning msgpackr's complaint about a value it cannot encode into a clear argument error. */
function encodable(logged: LoggedCommand): Uint8Array {
  try {
    return encodeCommand(logged);
  } catch (error) {
    throw new InvalidArgumentError(`the value cannot be encoded: ${(error as Error).message}`);
  }
}

/** What a configuration entry resolves its waiter with: it has no command result of its own. */
const NO_RESULT: CommandResult = {
  applied: true,
  revision: 0,
  previous: undefined,
  value: undefined,
  version: 0,
};
