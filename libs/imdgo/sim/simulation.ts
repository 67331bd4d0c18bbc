import { SeededRandom } from '../src/raft/random.ts';
import { RaftInvariantError, type RaftOptions, type RaftTestOnlyBugs } from '../src/raft/index.ts';
import { isMember } from '../src/raft/membership.ts';
import type { Entry, NodeId, Ready } from '../src/raft/types.ts';
import { DEFAULT_MAP, type KvCommand } from '../src/state-machine/commands.ts';
import { EventQueue } from './event-queue.ts';
import { InvariantChecker } from './invariants.ts';
import {
  drawLeaderChurnPlan,
  drawNemesisPlan,
  runNemesisStep,
  type FaultPoint,
  type NemesisPlan,
  type NemesisTarget,
} from './nemesis.ts';
import { drawNetworkFaults, SimNetwork } from './sim-network.ts';
import { SimNode, type ClientReply, type Wire } from './sim-node.ts';
import { Trace } from './trace.ts';
import { Workload, type HistoryEvent, type WorkloadHost } from './workload.ts';

export interface SimulationOptions {
  readonly seed: number;
  /** Virtual milliseconds of load under faults, before the healing phase. */
  readonly durationMs?: number;
  readonly testOnlyBugs?: RaftTestOnlyBugs;
  /** What the seed draws from; `swarm` (the default) mixes every fault and storage mode. */
  readonly profile?: SimProfile;
}

/**
 * `membership-race`: four voters (so two single-server removals from them can have disjoint majorities),
 * disks kept, leader churn, and leaders proposing removals as soon and as often as they may: at election
 * (the correct core refuses until it commits in its term) and after each commit, while nodes are down too.
 * Configuration changes then race leader changes in many runs, not one in thousands.
 */
export type SimProfile = 'swarm' | 'membership-race';

export interface SimulationResult {
  readonly seed: number;
  readonly violation: string | null;
  readonly traceDigest: string;
  readonly traceTail: readonly string[];
  readonly history: readonly HistoryEvent[];
  readonly stats: {
    readonly nodes: number;
    readonly virtualMs: number;
    readonly events: number;
    readonly committed: number;
    readonly completedOps: number;
    readonly unknownOps: number;
    readonly faults: Readonly<Record<string, number>>;
  };
}

type SimEvent =
  | { readonly type: 'tick'; readonly node: NodeId }
  | { readonly type: 'deliver'; readonly from: NodeId; readonly to: NodeId; readonly wire: Wire }
  | { readonly type: 'client'; readonly client: number }
  | { readonly type: 'client-timeout'; readonly client: number; readonly request: number }
  | { readonly type: 'client-reply'; readonly request: number; readonly reply: ClientReply }
  | { readonly type: 'nemesis' }
  | { readonly type: 'crash'; readonly node: NodeId; readonly downMs: number }
  | { readonly type: 'reconnect'; readonly node: NodeId }
  | { readonly type: 'restart'; readonly node: NodeId }
  | { readonly type: 'resume'; readonly node: NodeId }
  | { readonly type: 'membership' }
  | { readonly type: 'stale-leader' };

const TICK_MS = 100;
// Healing ends partitions, clogs, crashes and pauses but not the seed's message loss (up to 15%), so with a
// single electable node an election may take several timeouts: over 20,000 seeds convergence took p99 4 s,
// at most 21 s (seed 20427: four elections of one candidate in a row each lost a message).
const HEAL_DEADLINE_MS = 30_000;
const STORAGE_CHECK_MS = 1_000;
const MEMBERSHIP_CHECK_MS = 200;
const STALE_LEADER_STEP_MS = 250;

/**
 * How nodes keep their state and how the cluster's membership moves, per seed (a separate random stream,
 * so the other draws of a seed stay as they were).
 * - memory mode: a crash loses everything; the node comes back without state and rejoins as a new member.
 * - data-directory mode: a crash keeps what was fsynced; a crash can tear the write in progress.
 * - snapshots every `snapshotEvery` applied entries (0: never), keeping `trailing` entries before them.
 * - membership: the leader removes members, which come back wiped and rejoin through discovery.
 */
interface StorageProfile {
  readonly memoryMode: boolean;
  readonly bootstrapByDiscovery: boolean;
  readonly snapshotEvery: number;
  readonly trailing: number;
  readonly tornWriteRate: number;
  readonly membership: boolean;
  /** Chance that a new leader proposes a configuration change at once (the unfixed §4.1 race). */
  readonly earlyConfigChangeRate: number;
  /**
   * Memory mode, CheckQuorum off: now and then an old leader is cut off, a follower loses its memory and
   * rejoins on the old leader's side first, then the cluster's (see staleLeaderStep).
   */
  readonly staleLeaderRejoin: boolean;
  /**
   * Membership churn down to one voter, the leader removing itself when two are left, CheckQuorum off
   * (a removed leader then lingers until it hears of a newer term).
   */
  readonly downToOneVoter: boolean;
  /** Chance that a follower is cut off right after it stored its leader's removal, before it answers. */
  readonly isolateOnConfigAppendRate: number;
  /** The membership-race profile's proposals: after each commit as well, and while nodes are down. */
  readonly membershipRace: boolean;
}

function drawStorageProfile(random: SeededRandom): StorageProfile {
  const memoryMode = random.chance(0.3);
  const membership = !memoryMode && random.chance(0.35);
  const profile = {
    memoryMode,
    bootstrapByDiscovery: random.chance(0.3),
    snapshotEvery: random.chance(0.6) ? 5 + random.int(150) : 0,
    trailing: random.pick([0, 3, 40]),
    tornWriteRate: memoryMode || random.chance(0.5) ? 0 : random.next() * 0.05,
    membership,
    earlyConfigChangeRate: membership ? random.next() * 0.6 : 0,
  };
  // Drawn last, so that the draws above (and so every earlier seed's profile) stay as they were.
  const downToOneVoter = membership && random.chance(0.5);
  return {
    ...profile,
    staleLeaderRejoin: memoryMode && random.chance(0.5),
    downToOneVoter,
    isolateOnConfigAppendRate: downToOneVoter ? 0.3 + random.next() * 0.7 : 0,
    membershipRace: false,
  };
}

function drawMembershipRaceProfile(random: SeededRandom): StorageProfile {
  return {
    memoryMode: false,
    bootstrapByDiscovery: random.chance(0.3),
    snapshotEvery: random.chance(0.6) ? 5 + random.int(150) : 0,
    trailing: random.pick([0, 3, 40]),
    tornWriteRate: 0,
    membership: true,
    earlyConfigChangeRate: 1,
    staleLeaderRejoin: false,
    downToOneVoter: false,
    isolateOnConfigAppendRate: 0,
    membershipRace: true,
  };
}

/**
 * One deterministic run: N real Raft cores on a virtual clock, a faulty network, crashes and pauses, and
 * clients recording a history. Everything random comes from `seed`, so a run replays exactly.
 */
export class Simulation implements NemesisTarget, WorkloadHost {
  now = 0;
  private readonly random: SeededRandom;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly network: SimNetwork<Wire>;
  private readonly checker = new InvariantChecker();
  private readonly trace = new Trace();
  private readonly workload: Workload;
  private readonly plan: NemesisPlan;
  private readonly pausedUntil = new Map<NodeId, number>();
  private readonly downUntil = new Map<NodeId, number>();
  /** The last `term:vote` each node granted, to tell a fresh vote from a hard state persisted for the commit. */
  private readonly grantedVotes = new Map<NodeId, string>();
  /** The term of each node's latest commit as leader, to tell a new leader's first commit. */
  private readonly commitTerms = new Map<NodeId, number>();
  private readonly faultCounts: Record<string, number> = {};
  private readonly options: SimulationOptions;
  private readonly raftTuning: Partial<RaftOptions>;
  private readonly profile: StorageProfile;
  /**
   * Members the leader was asked to remove, with where the removal's entry went; once removed they are wiped
   * and rejoin as new members.
   */
  private readonly decommissioning = new Map<NodeId, { index: number; term: number }>();
  /** Nodes whose next start is without state (memory mode, or wiped): they rejoin through discovery. */
  private readonly startFresh = new Set<NodeId>();
  private readonly incarnations = new Map<NodeId, string>();
  private restarts = 0;
  /** The scenario staleLeaderStep drives: the cut-off old leader and the follower that rejoins beside it. */
  private staleLeader: { leader: NodeId; since: number; rejoining: NodeId | null } | null = null;
  private events = 0;
  private healing = false;

  constructor(options: SimulationOptions) {
    this.options = options;
    this.random = new SeededRandom(options.seed);
    const race = options.profile === 'membership-race';
    const size = race ? 4 : this.random.chance(0.5) ? 3 : 5;
    const storageRandom = new SeededRandom(options.seed ^ 0x5eed5eed);
    this.profile = race ? drawMembershipRaceProfile(storageRandom) : drawStorageProfile(storageRandom);
    this.raftTuning = { ...drawRaftTuning(this.random), snapshotTrailingEntries: this.profile.trailing };
    // Without CheckQuorum a cut-off leader lingers as long as its partition does.
    if (this.profile.staleLeaderRejoin || this.profile.downToOneVoter)
      this.raftTuning = { ...this.raftTuning, checkQuorum: false };
    this.network = new SimNetwork(this.random, drawNetworkFaults(this.random));
    this.plan = race ? drawLeaderChurnPlan(this.random) : drawNemesisPlan(this.random);
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    for (const id of ids) {
      this.nodes.set(id, new SimNode(this.raftOptions(id, ids), this.nodeHost(), this.profile.snapshotEvery));
      this.queue.push(1 + this.random.int(TICK_MS), { type: 'tick', node: id });
    }
    this.workload = new Workload(this.random, this, 1 + this.random.int(6), 1 + this.random.int(4));
    this.queue.push(this.plan.minIntervalMs, { type: 'nemesis' });
    if (this.profile.membership) this.queue.push(MEMBERSHIP_CHECK_MS, { type: 'membership' });
    if (this.profile.staleLeaderRejoin) this.queue.push(STALE_LEADER_STEP_MS, { type: 'stale-leader' });
    this.trace.line(
      0,
      `start nodes=${size} storage=${JSON.stringify(this.profile)} raft=${JSON.stringify(this.raftTuning)} faults=${JSON.stringify(this.network.faults)} plan=${JSON.stringify(this.plan)}`,
    );
  }

  run(): SimulationResult {
    const durationMs = this.options.durationMs ?? 10_000;
    let nextStorageCheck = STORAGE_CHECK_MS;
    let healDeadline = Number.POSITIVE_INFINITY;
    while (this.checker.violation === null) {
      const next = this.queue.pop();
      if (!next) break;
      this.now = next.time;
      if (!this.healing && this.now >= durationMs) {
        this.startHealing();
        healDeadline = this.now + HEAL_DEADLINE_MS;
      }
      if (this.now >= nextStorageCheck) {
        nextStorageCheck = this.now + STORAGE_CHECK_MS;
        this.checker.checkStorage([...this.nodes.values()], this.durableDisks());
        if (this.healing && this.converged()) break;
      }
      if (this.now > healDeadline) {
        this.checker.violation ??= `liveness: no convergence ${HEAL_DEADLINE_MS} ms after healing`;
        break;
      }
      this.events++;
      try {
        this.handle(next.event);
      } catch (error) {
        // The core caught itself breaking an invariant (say, two leaders in a term): a failure of this seed.
        if (!(error instanceof RaftInvariantError)) throw error;
        this.checker.violation ??= `core invariant: ${error.message}`;
      }
    }
    if (this.checker.violation === null)
      this.checker.checkStorage([...this.nodes.values()], this.durableDisks());
    if (this.checker.violation === null) this.checkReplicasAgree();
    return {
      seed: this.options.seed,
      violation: this.checker.violation,
      traceDigest: this.trace.digest(),
      traceTail: this.trace.lastLines(),
      history: this.workload.history,
      stats: {
        nodes: this.nodes.size,
        virtualMs: this.now,
        events: this.events,
        committed: this.checker.highestCommitted(),
        completedOps: this.workload.completed,
        unknownOps: this.workload.unknown,
        faults: this.faultCounts,
      },
    };
  }

  // ---- WorkloadHost ----

  nodeIds(): readonly NodeId[] {
    return [...this.nodes.keys()];
  }

  submitWrite(
    node: NodeId,
    request: number,
    session: { client: string; seq: number },
    command: KvCommand,
  ): void {
    const target = this.nodes.get(node)!;
    if (target.alive && !this.isPaused(node)) target.write(request, { session, command });
  }

  submitRead(node: NodeId, request: number, key: string): void {
    const target = this.nodes.get(node)!;
    if (target.alive && !this.isPaused(node)) target.read(request, key);
  }

  scheduleClient(delayMs: number, client: number): void {
    this.queue.push(this.now + delayMs, { type: 'client', client });
  }

  scheduleTimeout(delayMs: number, client: number, request: number): void {
    this.queue.push(this.now + delayMs, { type: 'client-timeout', client, request });
  }

  // ---- NemesisTarget ----

  leader(): NodeId | null {
    let best: SimNode | null = null;
    for (const node of this.nodes.values()) {
      if (node.alive && node.raft.role === 'leader' && (!best || node.raft.term > best.raft.term))
        best = node;
    }
    return best?.id ?? null;
  }

  crashedCount(): number {
    return this.downUntil.size;
  }

  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.count('partition');
    this.network.partition(a, b);
  }

  blockOneWay(from: NodeId, to: NodeId): void {
    this.count('one-way');
    this.network.blockOneWay(from, to);
  }

  clog(from: NodeId, to: NodeId): void {
    this.count('clog');
    this.network.clog(from, to);
  }

  unclogOne(): void {
    const released = this.network.unclogOne();
    if (!released) return;
    this.log(`nemesis unclog ${released.from} -> ${released.to} (${released.messages.length} held)`);
    for (const wire of this.random.shuffle(released.messages)) {
      this.queue.push(this.now + this.network.delay(), {
        type: 'deliver',
        from: released.from,
        to: released.to,
        wire,
      });
    }
  }

  crash(node: NodeId, downMs: number): void {
    const target = this.nodes.get(node)!;
    if (!target.alive) return;
    const memoryLoss = this.profile.memoryMode;
    // The guarantee holds while fewer than a majority have lost their memory at once: keep runs inside it.
    if (memoryLoss && !this.mayLoseMemory(node)) return;
    this.count(memoryLoss ? 'crash (memory lost)' : 'crash');
    target.crash(memoryLoss);
    if (memoryLoss) this.startFresh.add(node);
    this.downUntil.set(node, this.now + downMs);
    this.queue.push(this.now + downMs, { type: 'restart', node });
    this.log(`nemesis crash ${node} for ${downMs} ms`);
  }

  pause(node: NodeId, pausedMs: number): void {
    if (this.isPaused(node) || !this.nodes.get(node)!.alive) return;
    this.count('pause');
    this.pausedUntil.set(node, this.now + pausedMs);
    this.queue.push(this.now + pausedMs, { type: 'resume', node });
    this.log(`nemesis pause ${node} for ${pausedMs} ms`);
  }

  heal(): void {
    this.count('heal');
    this.network.heal();
  }

  log(text: string): void {
    this.trace.line(this.now, text);
  }

  // ---- internals ----

  private raftOptions(id: NodeId, voters: readonly NodeId[]): RaftOptions {
    // Each incarnation draws from its own stream, derived from the run's seed.
    const random = new SeededRandom(this.random.int(2 ** 31));
    const base = { ...this.raftTuning, id, random, testOnlyBugs: this.options.testOnlyBugs };
    // As the production driver does, a node that ever started by discovery always starts that way: with
    // state it resumes its seat, without state it rejoins.
    const discovers =
      this.startFresh.has(id) || this.profile.bootstrapByDiscovery || this.incarnations.has(id);
    if (!discovers) return { ...base, voters };
    // Kept with the disk, as the driver keeps it in the data directory; new when the memory is gone.
    if (this.startFresh.has(id) || !this.incarnations.has(id))
      this.incarnations.set(id, `${id}.${this.restarts}`);
    const incarnation = this.incarnations.get(id)!;
    return {
      ...base,
      voters: [],
      discovery: { members: [...new Set([...this.nodes.keys(), ...voters])], incarnation },
    };
  }

  /** The majority-on-disk check counts against a fixed voter set: only for static clusters with disks. */
  private durableDisks(): boolean {
    return !this.profile.memoryMode && !this.profile.membership && !this.profile.bootstrapByDiscovery;
  }

  /**
   * A memory-mode crash only while, after it, a majority of the voters still hold their seats with their
   * memory (README: memory mode), judged in the newest leader's committed configuration: alive, admitted,
   * and the process the seat names, counting a learner that loses it among the voters, and so must a
   * majority of voters and learners together: the leader may promote a learner before it hears that its
   * process is gone. Others may meanwhile be down, paused, rejoining or behind.
   */
  private mayLoseMemory(node: NodeId): boolean {
    const leaderId = this.leader();
    if (!leaderId || !this.nodes.has(node)) return false;
    const leader = this.nodes.get(leaderId)!.raft;
    if (leader.membership.currentIndex > leader.log.committed) return false;
    const { voters, learners, incarnations } = leader.membership.current;
    const keepsMajority = (seats: readonly NodeId[]): boolean =>
      seats.filter((id) => {
        const other = this.nodes.get(id);
        return (
          id !== node &&
          other !== undefined &&
          other.alive &&
          other.raft.config.discovery?.incarnation === incarnations?.[id] &&
          (other.raft.discovery === null || learners.includes(id))
        );
      }).length *
        2 >
      seats.length;
    const promotable = learners.includes(node) ? [...voters, node] : voters;
    return keepsMajority(promotable) && keepsMajority([...voters, ...learners]);
  }

  /**
   * Membership churn: the leader removes a member; once the removal is committed the member is wiped and,
   * a little later, started again without state, so it rejoins as a new member through discovery.
   */
  private membershipStep(): void {
    for (const [id, proposal] of this.decommissioning) {
      const leader = this.leader();
      if (!leader) break;
      const raft = this.nodes.get(leader)!.raft;
      // Committed entries are final: another term's entry committed at the removal's index means the removal
      // was lost (its leader crashed or was cut off before replicating it), and the member stays.
      const termThere = raft.log.term(proposal.index);
      if (raft.log.committed >= proposal.index && termThere > 0 && termThere !== proposal.term) {
        this.decommissioning.delete(id);
        this.count('membership remove lost');
        this.log(`membership: removing ${id} at ${proposal.index} was lost`);
        continue;
      }
      const removed =
        !isMember(raft.membership.current, id) && raft.membership.currentIndex <= raft.log.committed;
      if (!removed) continue;
      // A removed member is not always shut down at once: it may linger, a leader of an older term.
      const lingers = this.profile.downToOneVoter && !this.healing && !this.random.chance(0.05);
      if (lingers) continue;
      this.decommissioning.delete(id);
      const node = this.nodes.get(id)!;
      node.crash(true);
      this.startFresh.add(id);
      const downMs = this.healing ? 0 : 100 + this.random.int(2000);
      this.downUntil.set(id, this.now + downMs);
      this.queue.push(this.now + downMs, { type: 'restart', node: id });
      this.log(`membership: ${id} removed, wiped, back in ${downMs} ms`);
    }
    const rate = this.profile.downToOneVoter ? 0.5 : 0.15;
    if (this.healing || this.decommissioning.size > 0 || !this.random.chance(rate)) return;
    const leader = this.leader();
    if (leader) this.proposeRemoval(leader);
  }

  private proposesAfterCommit(node: SimNode, ready: Ready): boolean {
    return (
      this.profile.membershipRace &&
      !this.healing &&
      node.alive &&
      node.raft.role === 'leader' &&
      ready.committedEntries.length > 0
    );
  }

  private proposeRemoval(leader: NodeId): void {
    const raft = this.nodes.get(leader)!.raft;
    const voters = raft.membership.current.voters;
    if (voters.length < (this.profile.downToOneVoter ? 2 : 3)) return;
    if (this.downUntil.size > 0 && !this.profile.membershipRace) return;
    // Down to two voters, the leader removes itself: a leader that is no voter of its configuration.
    const removesItself = this.profile.downToOneVoter && voters.length === 2 && voters.includes(leader);
    const victim = removesItself ? leader : this.random.pick(voters);
    const result = raft.proposeConfigChange({ type: 'remove', id: victim });
    if (!result.ok) return;
    this.count('membership remove');
    // Coverage: churn goes on after a lost removal (one left pending for good would end it).
    if (this.faultCounts['membership remove lost']) this.count('membership remove after a lost one');
    this.decommissioning.set(victim, { index: result.index, term: result.term });
    this.log(`membership: ${leader} proposes removing ${victim} at ${result.index}`);
  }

  private nodeHost() {
    return {
      tearsWrite: (node: SimNode, ready: Ready) => {
        const tears =
          !this.healing &&
          (ready.entries.length > 0 || ready.hardState !== null) &&
          this.random.chance(this.profile.tornWriteRate);
        if (tears) {
          // The node crashes itself mid-write; it restarts like any crashed node.
          const downMs = 50 + this.random.int(1000);
          this.count('torn write');
          this.downUntil.set(node.id, this.now + downMs);
          this.queue.push(this.now + downMs, { type: 'restart', node: node.id });
          this.log(`nemesis torn write: crash ${node.id} mid-write for ${downMs} ms`);
        }
        return tears;
      },
      send: (from: NodeId, to: NodeId, wire: Wire) => {
        for (const delay of this.network.route(from, to, wire)) {
          this.queue.push(this.now + delay, { type: 'deliver', from, to, wire });
        }
      },
      reply: (request: number, reply: ClientReply) => {
        // Deferred, so a client's next operation never re-enters the node mid-Ready.
        this.queue.push(this.now, { type: 'client-reply', request, reply });
      },
      observeReady: (node: SimNode, ready: Ready) => {
        if (ready.softState) {
          const s = ready.softState;
          this.trace.line(this.now, `${node.id} ${s.role} term=${s.term} leader=${s.leader ?? '-'}`);
        }
        this.checker.onReady(node, ready);
        if (!this.healing) this.faultAtPoint(node, ready);
        if (!this.healing && this.profile.isolateOnConfigAppendRate > 0)
          this.isolateOnConfigAppend(node, ready);
        if (ready.softState?.role === 'leader' && this.random.chance(this.profile.earlyConfigChangeRate)) {
          this.proposeRemoval(node.id);
        } else if (this.proposesAfterCommit(node, ready)) {
          this.proposeRemoval(node.id);
        }
      },
      observeApplied: (node: SimNode, entry: Entry) => {
        this.checker.onApplied(node, entry);
      },
    };
  }

  private handle(event: SimEvent): void {
    switch (event.type) {
      case 'tick': {
        this.queue.push(this.now + TICK_MS, event);
        const node = this.nodes.get(event.node)!;
        if (node.alive && !this.isPaused(event.node)) node.tick();
        return;
      }
      case 'deliver': {
        const node = this.nodes.get(event.to)!;
        if (!node.alive) return;
        const resumeAt = this.pausedUntil.get(event.to);
        if (resumeAt !== undefined) {
          // A paused process still has its socket buffers: the message waits, it is not lost.
          this.queue.push(resumeAt, event);
          return;
        }
        const wire = event.wire;
        this.trace.mix(
          `${this.now}${event.from}${event.to}${wire.kind === 'raft' ? wire.message.type + wire.message.term : wire.kind}`,
        );
        node.receive(event.from, wire);
        return;
      }
      case 'client':
        this.workload.step(event.client);
        return;
      case 'client-timeout':
        this.workload.onTimeout(event.client, event.request);
        return;
      case 'client-reply':
        this.workload.onReply(event.request, event.reply);
        return;
      case 'nemesis':
        if (this.healing) return;
        runNemesisStep(this.random, this.plan, this);
        if (this.network.isClogged() && this.random.chance(0.3)) this.unclogOne();
        this.queue.push(
          this.now +
            this.plan.minIntervalMs +
            this.random.int(this.plan.maxIntervalMs - this.plan.minIntervalMs + 1),
          event,
        );
        return;
      case 'crash':
        if (!this.healing) this.crash(event.node, event.downMs);
        return;
      case 'reconnect':
        this.network.reconnect(event.node);
        this.log(`reconnect ${event.node}`);
        return;
      case 'restart': {
        const node = this.nodes.get(event.node)!;
        if (node.alive) return;
        this.downUntil.delete(event.node);
        this.restarts++;
        node.restart(this.raftOptions(event.node, [...this.nodes.keys()]));
        this.startFresh.delete(event.node);
        this.log(`restart ${event.node} (incarnation ${this.restarts})`);
        if (this.staleLeader?.rejoining === event.node) this.rejoinBesideStaleLeader(event.node);
        return;
      }
      case 'membership':
        this.membershipStep();
        this.queue.push(this.now + MEMBERSHIP_CHECK_MS, event);
        return;
      case 'stale-leader':
        if (this.healing) return;
        this.staleLeaderStep();
        this.queue.push(this.now + STALE_LEADER_STEP_MS, event);
        return;
      case 'resume':
        if ((this.pausedUntil.get(event.node) ?? 0) <= this.now) {
          this.pausedUntil.delete(event.node);
          this.log(`resume ${event.node}`);
        }
        return;
    }
  }

  /**
   * A memory-mode interleaving with random participants and timing: the leader is cut off (without
   * CheckQuorum it lingers, taking writes it cannot commit); once the others elected a leader, a follower
   * loses its memory and comes back reachable only by the old leader, whose log it takes; then it
   * reconnects to the others, whose leader still holds the match of its previous process.
   */
  private staleLeaderStep(): void {
    const scenario = this.staleLeader;
    if (scenario === null) {
      const leader = this.leader();
      if (!leader || !this.random.chance(0.1)) return;
      this.network.partition([leader], this.others(leader));
      this.staleLeader = { leader, since: this.now, rejoining: null };
      this.count('stale leader');
      this.log(`stale leader: cut off ${leader}`);
      return;
    }
    if (scenario.rejoining !== null) return;
    const current = this.leader();
    if (this.now - scenario.since > 5_000) return this.endStaleLeader();
    if (!current || current === scenario.leader || this.now - scenario.since < 1_000) return;
    const victim = this.nodes.get(
      this.random.pick(this.others(scenario.leader).filter((id) => id !== current)),
    )!;
    if (victim.alive) this.crash(victim.id, this.random.int(300));
    // Refused (see mayLoseMemory), or the node was down already.
    if (victim.alive || !this.startFresh.has(victim.id)) return this.endStaleLeader();
    scenario.rejoining = victim.id;
  }

  private rejoinBesideStaleLeader(node: NodeId): void {
    const { leader } = this.staleLeader!;
    this.network.reconnect(node);
    this.network.partition(
      [node],
      this.others(node).filter((id) => id !== leader),
    );
    this.log(`stale leader: ${node} back beside ${leader} only`);
    this.queue.push(this.now + 100 + this.random.int(1_500), { type: 'reconnect', node });
    this.endStaleLeader();
  }

  private endStaleLeader(): void {
    const { leader } = this.staleLeader!;
    this.staleLeader = null;
    this.queue.push(this.now + 500 + this.random.int(3_000), { type: 'reconnect', node: leader });
  }

  /** Cuts off a follower that just stored a configuration removing its leader, before its answer goes out. */
  private isolateOnConfigAppend(node: SimNode, ready: Ready): void {
    const { raft } = node;
    if (raft.leader === null || raft.role === 'leader' || raft.isVoter(raft.leader)) return;
    if (!ready.entries.some((e) => e.kind === 'config')) return;
    if (!this.random.chance(this.profile.isolateOnConfigAppendRate)) return;
    // Long enough, mostly, for it to time out and lead the configuration it now holds alone.
    const downMs = 1_000 + this.random.int(4_000);
    this.count('isolate@config-append');
    this.log(`nemesis config append: isolate ${node.id} for ${downMs} ms`);
    this.network.partition([node.id], this.others(node.id));
    this.queue.push(this.now + downMs, { type: 'reconnect', node: node.id });
  }

  private others(node: NodeId): NodeId[] {
    return this.nodeIds().filter((id) => id !== node);
  }

  /** The Ready moments this one is, most specific first. */
  private pointsOf(node: SimNode, ready: Ready): FaultPoint[] {
    const raft = node.raft;
    const points: FaultPoint[] = [];
    if (ready.softState?.role === 'leader') points.push('elected');
    if (ready.hardState && raft.vote !== null && raft.vote !== node.id) {
      const vote = `${raft.term}:${raft.vote}`;
      if (this.grantedVotes.get(node.id) !== vote) points.push('vote');
      this.grantedVotes.set(node.id, vote);
    }
    if (raft.role === 'leader') {
      if (ready.entries.length > 0) points.push('leader-append');
      if (ready.committedEntries.length > 0) {
        const first = this.commitTerms.get(node.id) !== raft.term;
        this.commitTerms.set(node.id, raft.term);
        points.push(first ? 'first-commit' : 'leader-commit');
      }
    } else if (ready.entries.length > 0) {
      points.push('follower-append');
    }
    return points;
  }

  /** Fires the seed's targeted fault, if any, at this persisted but not yet sent Ready. */
  private faultAtPoint(node: SimNode, ready: Ready): void {
    for (const point of this.pointsOf(node, ready)) {
      const fault = this.plan.points[point];
      if (!fault || !this.random.chance(fault.rate)) continue;
      this.count(`${fault.action}@${point}`);
      const downMs = this.random.chance(fault.quickRate) ? this.random.int(30) : 100 + this.random.int(3000);
      switch (fault.action) {
        case 'crash-unsent':
          this.log(`nemesis ${point}: crash ${node.id} before it sends`);
          this.crash(node.id, downMs);
          break;
        case 'crash-soon':
          this.queue.push(this.now + this.random.int(20), { type: 'crash', node: node.id, downMs });
          break;
        case 'isolate':
          this.log(`nemesis ${point}: isolate ${node.id} for ${downMs} ms`);
          this.network.partition(
            [node.id],
            this.nodeIds().filter((id) => id !== node.id),
          );
          this.queue.push(this.now + downMs, { type: 'reconnect', node: node.id });
          break;
      }
      return;
    }
  }

  private isPaused(node: NodeId): boolean {
    return this.pausedUntil.has(node);
  }

  /** The end of the faulty period: everything heals, so that the cluster must converge. */
  private startHealing(): void {
    this.healing = true;
    this.workload.stop();
    this.network.heal();
    while (this.network.isClogged()) this.unclogOne();
    for (const id of this.downUntil.keys()) this.queue.push(this.now, { type: 'restart', node: id });
    for (const id of this.pausedUntil.keys()) this.queue.push(this.now, { type: 'resume', node: id });
    this.pausedUntil.clear();
    this.log('healing: faults stopped');
  }

  private converged(): boolean {
    const leaderId = this.leader();
    if (!leaderId || this.downUntil.size > 0) return false;
    const leader = this.nodes.get(leaderId)!;
    if (!leader.raft.committedInTerm || leader.raft.log.committed !== leader.raft.log.lastIndex())
      return false;
    for (const node of this.nodes.values()) {
      if (!node.alive || node.machine.appliedIndex !== leader.raft.log.committed) return false;
    }
    return true;
  }

  /** After convergence every replica holds the same data. */
  private checkReplicasAgree(): void {
    const digests = new Map<NodeId, string>();
    for (const node of this.nodes.values()) {
      const data = node.machine.list(DEFAULT_MAP);
      digests.set(node.id, `${node.machine.appliedIndex}:${JSON.stringify(data)}`);
    }
    const distinct = new Set(digests.values());
    if (distinct.size > 1)
      this.checker.violation ??= `convergence: replicas differ ${[...digests.keys()].join(',')}`;
  }

  private count(kind: string): void {
    this.faultCounts[kind] = (this.faultCounts[kind] ?? 0) + 1;
  }
}

/**
 * The core's settings vary by seed too: PreVote and CheckQuorum on or off, small messages and windows so
 * that appends split and pipelines fill (a new leader's no-op otherwise hides many commit-rule bugs), and in
 * half the seeds short election timeouts, so that a run sees more elections.
 */
function drawRaftTuning(random: SeededRandom): Partial<RaftOptions> {
  return {
    preVote: random.chance(0.7),
    checkQuorum: random.chance(0.7),
    maxMessageBytes: random.pick([1, 1, 64, 4096, 1024 * 1024]),
    maxInflightMessages: random.pick([1, 4, 256]),
    heartbeatTicks: 1 + random.int(2),
    electionTicks: 3 + random.int(random.pick([5, 13])),
  };
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}
