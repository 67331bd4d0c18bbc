import { Logger, type LoggerService } from '@nestjs/common';
import type { ImdgoHistoryEvent } from '../../src/checker/index.ts';
import { RaftNode, type DriverTestOnlyBugs } from '../../src/driver/raft-node.ts';
import type { RaftConfig, RaftTestOnlyBugs } from '../../src/raft/index.ts';
import { SeededRandom } from '../../src/raft/random.ts';
import type { Entry, HardState, NodeId } from '../../src/raft/types.ts';
import { DEFAULT_MAP, type StoreLimit } from '../../src/state-machine/commands.ts';
import { encodeImage } from '../../src/state-machine/snapshot-image.ts';
import { FileStorage } from '../../src/storage/file-storage.ts';
import { SharedWal } from '../../src/storage/shared-wal.ts';
import { persistentIncarnation } from '../../src/storage/incarnation-file.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { RaftStorage, StoredState } from '../../src/storage/raft-storage.ts';
import { SimFileSystem } from '../sim-file-system.ts';
import { drawNemesisPlan, runNemesisStep, type NemesisPlan, type NemesisTarget } from '../nemesis.ts';
import { drawNetworkFaults, SimNetwork } from '../sim-network.ts';
import { Trace } from '../trace.ts';
import { DriverInvariants } from './driver-invariants.ts';
import { DriverWorkload, type ClientTarget, type WorkloadHost } from './driver-workload.ts';
import { LockWorkload } from './lock-workload.ts';
import { SimWire, type Delivery, type SimTransport } from './sim-transport.ts';
import { SimProcess, VirtualTime } from './virtual-time.ts';

export interface DriverSimulationOptions {
  readonly seed: number;
  /** Virtual milliseconds of load under faults, before the healing phase. */
  readonly durationMs?: number;
  readonly testOnlyBugs?: RaftTestOnlyBugs;
  readonly driverBugs?: DriverTestOnlyBugs;
  /** Lock clients beside the key-value ones (lock-workload.ts); none by default, so seeds replay as before. */
  readonly lockClients?: number;
  /** Data-directory mode on the node's shared write-ahead log (partitioned mode's storage) instead of FileStorage. */
  readonly sharedWal?: boolean;
}

export interface DriverSimulationResult {
  readonly seed: number;
  readonly violation: string | null;
  readonly traceDigest: string;
  readonly traceTail: readonly string[];
  readonly history: readonly ImdgoHistoryEvent[];
  readonly stats: {
    readonly nodes: number;
    readonly memoryMode: boolean;
    readonly virtualMs: number;
    readonly applied: number;
    readonly completedOps: number;
    readonly unknownOps: number;
    readonly faults: Readonly<Record<string, number>>;
    /** With lock clients: entries replayed into the lock checker, its grants, hand-overs and ended sessions. */
    readonly locks?: { replayed: number; grants: number; handOvers: number; endedSessions: number };
  };
}

const TICK_MS = 100;
/** The simulated group's id in the node's shared log (`sharedWal`): a partition's, as in a grid. */
const SHARED_WAL_GROUP = 1;
const REQUEST_TIMEOUT_MS = 3_000;
const HEAL_DEADLINE_MS = 30_000;
const CALL_SETTLE_BOUND_MS = 10 * REQUEST_TIMEOUT_MS;
const CHECK_EVERY_MS = 500;
/** A running node outside the configuration this long is taken for removed, not rejoining. */
const OUTSIDE_LIMIT_MS = 5_000;
const STALE_LEADER_STEP_MS = 250;
const MEMBERSHIP_STEP_MS = 200;

/** One node: its current process (null while down) and what survives a crash. */
interface SimMember {
  readonly id: NodeId;
  process: SimProcess | null;
  transport: SimTransport | null;
  node: RaftNode | null;
  /** Memory mode: the process's storage, lost with it. */
  memory: MemoryStorage;
  /** Data-directory mode: the disk under the real FileStorage; a crash keeps what was synced. */
  disk: SimFileSystem | null;
  incarnation: string;
  /** The last term in which this node's persisted vote went to another node (for the vote point fault). */
  lastVoteTerm: number;
}

const DATA_DIR = '/data';

/** Per-seed settings: storage mode, the core's tuning and the driver's (swarm testing). */
export interface Profile {
  readonly memoryMode: boolean;
  readonly snapshotThreshold: number;
  readonly storeLimit: StoreLimit | null;
  /** Chance that a lost connection is signalled to the peers (`peerUnreachable`). */
  readonly peerDownRate: number;
  /** Data-directory mode: chance that the process crashes before each file operation. */
  readonly diskCrashRate: number;
  /** Data-directory mode: the slowest file operation; slow disks let more messages arrive during a save. */
  readonly diskLatencyMs: number;
  /** Data-directory mode: chance that the process crashes right before installing a snapshot. */
  readonly installCrashRate: number;
  /** Chance that a nemesis step transfers leadership or removes a member (often the leader) instead. */
  readonly churnRate: number;
  readonly raft: Partial<RaftConfig>;
  /**
   * Memory mode, CheckQuorum off: now and then the leader is cut off and lingers; once the others elected
   * a leader, a follower loses its memory and comes back beside the old leader first (staleLeaderStep).
   */
  readonly staleLeaderRejoin: boolean;
  /**
   * Churn down to one voter, the leader removing itself when two are left, CheckQuorum off: a removed
   * leader lingers until it hears of a newer term, and is mostly not shut down at once.
   */
  readonly downToOneVoter: boolean;
  /** Chance that a follower is cut off right after it stored its leader's removal, before it answers. */
  readonly isolateOnConfigAppendRate: number;
  /**
   * Data-directory mode: snapshots every few entries with few trailing ones, so lagging followers install
   * them, and crashes around the install are frequent.
   */
  readonly snapshotStress: boolean;
}

function drawProfile(random: SeededRandom): Omit<Profile, keyof FaultShapes> {
  return {
    memoryMode: random.chance(0.5),
    snapshotThreshold: random.chance(0.6) ? 5 + random.int(100) : 1_000_000,
    storeLimit: random.chance(0.3)
      ? { maxBytes: 300 + random.int(3000), evictTtl: random.chance(0.5) }
      : null,
    peerDownRate: random.chance(0.5) ? random.next() : 0,
    diskCrashRate: random.chance(0.5) ? 0 : random.next() * 0.002,
    churnRate: random.chance(0.5) ? 0 : random.next() * 0.6,
    installCrashRate: random.chance(0.5) ? 0 : random.next(),
    diskLatencyMs: random.pick([1, 3, 10]),
    raft: {
      preVote: random.chance(0.7),
      checkQuorum: random.chance(0.6),
      maxMessageBytes: random.pick([1, 64, 4096, 1024 * 1024]),
      maxInflightMessages: random.pick([1, 4, 256]),
      snapshotTrailingEntries: random.pick([0, 3, 40]),
      heartbeatTicks: 1 + random.int(2),
      electionTicks: 4 + random.int(random.pick([4, 10])),
    },
  };
}

type FaultShapes = Pick<
  Profile,
  'staleLeaderRejoin' | 'downToOneVoter' | 'isolateOnConfigAppendRate' | 'snapshotStress'
>;

/**
 * The fault shapes added after the first profile, drawn from their own stream (`shapes`), so that a seed
 * that draws none of them runs exactly as before. New draws go at the end.
 */
function drawFaultShapes(base: Omit<Profile, keyof FaultShapes>, shapes: SeededRandom): Profile {
  const staleLeaderRejoin = base.memoryMode && shapes.chance(0.4);
  // Data-directory mode only, as in the core simulation: a wiped member rejoins by discovery.
  const downToOneVoter = !base.memoryMode && shapes.chance(0.4);
  const isolateOnConfigAppendRate = downToOneVoter ? 0.6 + shapes.next() * 0.4 : 0;
  const snapshotStress = !base.memoryMode && shapes.chance(0.4);
  let profile: Profile = {
    ...base,
    staleLeaderRejoin,
    downToOneVoter,
    isolateOnConfigAppendRate,
    snapshotStress,
  };
  // Without CheckQuorum a cut-off or removed leader lingers as long as nothing tells it of a newer term.
  if (staleLeaderRejoin || downToOneVoter)
    profile = { ...profile, raft: { ...profile.raft, checkQuorum: false } };
  if (snapshotStress) {
    profile = {
      ...profile,
      snapshotThreshold: 3 + shapes.int(10),
      installCrashRate: Math.max(profile.installCrashRate, 0.2 + shapes.next() * 0.6),
      raft: { ...profile.raft, snapshotTrailingEntries: shapes.pick([0, 1, 3]) },
    };
  }
  return profile;
}

/** Routes the driver's log lines into the trace; an error line (the driver halting) fails the run. */
class TraceLogger implements LoggerService {
  sink: DriverSimulation | null = null;
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown): void {
    this.sink?.driverError(String(message));
  }
}

const traceLogger = new TraceLogger();
Logger.overrideLogger(traceLogger);

/**
 * One deterministic run of the production `RaftNode` (with the real `KvStateMachine`, `SnapshotTransfer`,
 * `ForwardBatcher`, sessions and TTL expiry) on virtual time, over a faulty simulated network, with
 * crashes, restarts and pauses, and clients recording a history. Everything random comes from `seed`.
 */
/** What seed `seed` draws (mode, Raft settings, fault shapes), without running it: as the simulation draws it. */
export function seedProfile(seed: number): Profile {
  return drawFaultShapes(drawProfile(new SeededRandom(seed)), new SeededRandom(seed ^ 0x5eed5eed));
}

export class DriverSimulation implements NemesisTarget, WorkloadHost {
  private readonly time = new VirtualTime();
  private readonly random: SeededRandom;
  /** The stream of the fault shapes added later (drawFaultShapes): other seeds keep their runs. */
  private readonly shapes: SeededRandom;
  private readonly profile: Profile;
  private readonly wire: SimWire;
  private readonly plan: NemesisPlan;
  private readonly members = new Map<NodeId, SimMember>();
  private readonly invariants = new DriverInvariants();
  private readonly trace = new Trace();
  private readonly workload: DriverWorkload;
  private readonly locks: LockWorkload | null;
  private readonly faultCounts: Record<string, number> = {};
  private readonly options: DriverSimulationOptions;
  private restarts = 0;
  private processes = 0;
  /** Memory mode: members whose memory loss the cluster has not yet made good. */
  private readonly lostSeats = new Set<NodeId>();
  /** When each running node was first seen outside the leader's configuration. */
  private readonly outsideSince = new Map<NodeId, number>();
  /** Members asked to leave: decommissioned once the removal is committed. */
  private readonly removing = new Set<NodeId>();
  /** Members whose removal call has not settled yet. */
  private readonly removalsInFlight = new Set<NodeId>();
  private healing = false;
  /** The scenario staleLeaderStep drives: the cut-off old leader and the follower that rejoins beside it. */
  private staleLeader: { leader: NodeId; since: number; rejoining: NodeId | null } | null = null;
  /** `key=value` of every value some node applied. */
  private readonly appliedValues = new Set<string>();

  constructor(options: DriverSimulationOptions) {
    this.options = options;
    this.random = new SeededRandom(options.seed);
    this.shapes = new SeededRandom(options.seed ^ 0x5eed5eed);
    this.profile = drawFaultShapes(drawProfile(this.random), this.shapes);
    const network = new SimNetwork<Delivery>(this.random, drawNetworkFaults(this.random));
    this.wire = new SimWire(this.time, network);
    this.plan = drawNemesisPlan(this.random);
    const size = this.random.chance(0.5) ? 3 : 5;
    for (let i = 1; i <= size; i++) {
      // Peer ids are `host:port`, as the production transport's are.
      const id = `n${i}:7000`;
      this.members.set(id, {
        id,
        process: null,
        transport: null,
        node: null,
        memory: new MemoryStorage(),
        disk: null,
        incarnation: `${id}.0`,
        lastVoteTerm: 0,
      });
    }
    // Half the seeds add transactions and updates (swarm testing), drawn apart so the others run as before;
    // the constant leaves the first seeds where the spec's deliberate bugs show (3, 24, 165, 270) as they were.
    const atomicOps = new SeededRandom(options.seed ^ 0x7a7a000b).chance(0.5);
    this.workload = new DriverWorkload(this.random, this, REQUEST_TIMEOUT_MS * 2, atomicOps);
    // Its own stream, drawn only when asked for: runs without lock clients stay as they were.
    this.locks = options.lockClients
      ? new LockWorkload(new SeededRandom(options.seed ^ 0x10c4), this, REQUEST_TIMEOUT_MS * 2)
      : null;
    this.trace.line(
      0,
      `start nodes=${size} profile=${JSON.stringify(this.profile)} faults=${JSON.stringify(network.faults)} plan=${JSON.stringify(this.plan)}`,
    );
  }

  async run(): Promise<DriverSimulationResult> {
    traceLogger.sink = this;
    try {
      return await this.runLoop();
    } finally {
      traceLogger.sink = null;
    }
  }

  private async runLoop(): Promise<DriverSimulationResult> {
    const durationMs = this.options.durationMs ?? (this.profile.downToOneVoter ? 12_000 : 8_000);
    for (const member of this.members.values())
      this.time.at(this.random.int(TICK_MS), () => this.boot(member));
    this.time.at(200, () => {
      const clients = 1 + this.random.int(5);
      // Churn down to one voter leaves short windows (a lingering removed leader): more clients reach them.
      this.workload.start(clients + (this.profile.downToOneVoter ? 4 + this.shapes.int(6) : 0));
      this.locks?.start(this.options.lockClients ?? 0);
    });
    this.time.at(this.plan.minIntervalMs, () => this.nemesis());
    this.time.at(durationMs, () => this.startHealing());
    if (this.profile.staleLeaderRejoin) this.time.at(STALE_LEADER_STEP_MS, () => this.staleLeaderStep());
    if (this.profile.downToOneVoter) this.time.at(MEMBERSHIP_STEP_MS, () => this.membershipStep());
    let converged = false;
    let nextCheck = CHECK_EVERY_MS;
    while (this.violation() === null) {
      if (!(await this.time.step())) break;
      if (this.time.now < nextCheck) continue;
      nextCheck = this.time.now + CHECK_EVERY_MS;
      this.decommissionRemoved();
      if (!this.profile.memoryMode) await this.checkDurability();
      if (!this.healing) continue;
      if (this.converged()) {
        converged = true;
        break;
      }
      if (this.time.now > durationMs + HEAL_DEADLINE_MS) {
        this.invariants.fail(`liveness: no convergence ${HEAL_DEADLINE_MS} ms after healing`);
      }
    }
    if (this.violation() === null && converged) {
      this.checkReplicasAgree();
      const machine = [...this.members.values()][0]!.node!.machine;
      const counters = this.workload.checkIncrements(
        (key) => (machine.get(DEFAULT_MAP, key)?.value as number | undefined) ?? 0,
      );
      if (counters) this.invariants.fail(counters);
      this.locks?.checkAcknowledged();
    }
    if (this.violation() === null && converged) await this.checkCallsSettle();
    if (this.violation() === null) this.checkReads();
    for (const member of this.members.values()) member.process?.crash();
    return {
      seed: this.options.seed,
      violation: this.violation(),
      traceDigest: this.trace.digest(),
      traceTail: this.trace.lastLines(),
      history: this.workload.history,
      stats: {
        nodes: this.members.size,
        memoryMode: this.profile.memoryMode,
        virtualMs: this.time.now,
        applied: this.invariants.highestApplied(),
        completedOps: this.workload.completed,
        unknownOps: this.workload.unknown,
        faults: this.faultCounts,
        ...(this.locks && {
          locks: {
            replayed: this.locks.replayed,
            grants: this.locks.checker.grants.size,
            handOvers: this.locks.checker.handOvers,
            endedSessions: this.locks.checker.endedSessions,
          },
        }),
      },
    };
  }

  driverError(message: string): void {
    this.log(`driver error: ${message.split('\n')[0]}`);
    this.invariants.fail(`driver error: ${message.split('\n')[0]}`);
  }

  private violation(): string | null {
    return this.invariants.violation ?? this.workload.violation ?? this.locks?.violation ?? null;
  }

  // ---- node processes ----

  private boot(member: SimMember): void {
    const process = new SimProcess(this.time);
    member.process = process;
    if (this.profile.memoryMode) {
      this.startNode(member, process, this.watchSaves(member, member.memory));
      return;
    }
    const fs = this.mountDisk(member, process);
    const random = new SeededRandom(this.random.int(2 ** 31));
    persistentIncarnation(DATA_DIR, { fs, newId: () => `${member.id}.${random.int(2 ** 31)}` }).then(
      (incarnation) => {
        if (!process.alive) return;
        member.incarnation = incarnation;
        const storage = this.options.sharedWal
          ? new SharedWal({
              dataDir: DATA_DIR,
              fs,
              segmentBytes: 4096,
              defer: (run) => process.defer(run),
            }).storageFor(SHARED_WAL_GROUP)
          : new FileStorage({ dir: DATA_DIR, fs, segmentBytes: 4096 });
        this.startNode(
          member,
          process,
          this.watchSaves(
            member,
            boundToProcess(storage, process, (write, hardState, entries) =>
              this.crashBeforeWrite(member, write, hardState, entries),
            ),
          ),
        );
      },
      (error: Error) => {
        if (process.alive)
          this.invariants.fail(`${member.id} failed to read its incarnation: ${error.message}`);
      },
    );
  }

  /** The node's disk for a new process: what the last crash left, with this seed's crash points armed. */
  private mountDisk(member: SimMember, process: SimProcess): SimFileSystem {
    const options = {
      schedule: (delayMs: number, run: () => void) => process.at(this.time.now + delayMs, run),
      maxLatencyMs: this.profile.diskLatencyMs,
      beforeOperation: () => {
        if (this.healing || !process.alive || !this.random.chance(this.profile.diskCrashRate))
          return undefined;
        // Between two file operations: the disk keeps what was synced (and some of what was not).
        this.kill(member, 50 + this.random.int(1000), 'disk crash');
        return 'crash' as const;
      },
    };
    member.disk = member.disk
      ? member.disk.restart(options)
      : new SimFileSystem({ random: new SeededRandom(this.random.int(2 ** 31)), ...options });
    return member.disk;
  }

  /**
   * A crash point between two of the driver's storage writes (those of one Ready included), more often
   * right before a snapshot from the leader is installed: the writes before it are durable, it is not.
   */
  private crashBeforeWrite(
    member: SimMember,
    write: 'save' | 'install' | 'snapshot',
    hardState: HardState | null = null,
    entries: readonly Entry[] = [],
  ): boolean {
    if (this.healing || !member.process) return false;
    if (write === 'save' && this.pointBeforeSave(member, hardState, entries)) return true;
    const rate = write === 'install' ? this.profile.installCrashRate : this.profile.diskCrashRate * 5;
    if (!this.random.chance(rate)) return false;
    member.disk?.crash();
    this.kill(member, 50 + this.random.int(1000), `crash before ${write}`);
    return true;
  }

  /**
   * The seed's point faults seen from storage (data-directory mode): a leader crashes before its new entries
   * are durable or sent; a node that just granted a vote crashes a few ms after persisting it.
   */
  private pointBeforeSave(
    member: SimMember,
    hardState: HardState | null,
    entries: readonly Entry[],
  ): boolean {
    const node = member.node;
    if (!node) return false;
    const append = this.plan.points['leader-append'];
    if (append && entries.length > 0 && node.isLeader() && this.random.chance(append.rate)) {
      this.count('crash@leader-append');
      member.disk?.crash();
      this.kill(
        member,
        this.random.chance(append.quickRate) ? this.random.int(30) : 100 + this.random.int(3000),
        'crash before leader append',
      );
      return true;
    }
    const vote = this.plan.points.vote;
    const granted = hardState?.vote ?? null;
    if (vote && granted !== null && granted !== member.id && hardState!.term > member.lastVoteTerm) {
      member.lastVoteTerm = hardState!.term;
      if (this.random.chance(vote.rate)) {
        this.count('crash@vote');
        const downMs = this.random.chance(vote.quickRate) ? this.random.int(30) : 100 + this.random.int(3000);
        this.time.at(this.time.now + this.random.int(20), () => this.crash(member.id, downMs));
      }
    }
    return false;
  }

  /**
   * The seed's targeted fault at a moment where it does the most damage (nemesis.ts): a leader just elected,
   * or its first commit, crashed before it tells anyone or cut off for a while.
   */
  private faultAtPoint(member: SimMember, point: 'elected' | 'first-commit'): void {
    const fault = this.plan.points[point];
    if (this.healing || !fault || !member.process || !this.random.chance(fault.rate)) return;
    const downMs = this.random.chance(fault.quickRate) ? this.random.int(30) : 100 + this.random.int(3000);
    this.count(`${fault.action}@${point}`);
    if (fault.action === 'isolate') {
      this.log(`${point}: isolate ${member.id} for ${downMs} ms`);
      this.wire.network.partition(
        [member.id],
        this.nodeIds().filter((other) => other !== member.id),
      );
      this.time.at(this.time.now + downMs, () => this.wire.network.reconnect(member.id));
    } else if (fault.action === 'crash-unsent') {
      this.crash(member.id, downMs);
    } else {
      this.time.at(this.time.now + this.random.int(20), () => this.crash(member.id, downMs));
    }
  }

  private startNode(member: SimMember, process: SimProcess, storage: RaftStorage): void {
    const transport = this.wire.transport(member.id, process);
    const id = member.id;
    const node = new RaftNode({
      id,
      members: [...this.members.keys()],
      incarnation: member.incarnation,
      snapshotThreshold: this.profile.snapshotThreshold,
      storeLimit: this.profile.storeLimit,
      maxPendingWrites: 10_000,
      transport,
      storage,
      tickMs: TICK_MS,
      electionTicks: this.profile.raft.electionTicks!,
      heartbeatTicks: this.profile.raft.heartbeatTicks!,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      random: new SeededRandom(this.random.int(2 ** 31)),
      onChange: (change) => {
        if (change.type === 'set') this.appliedValues.add(`${change.key}=${JSON.stringify(change.value)}`);
      },
      onRoleChange: (state) => {
        this.log(`${id} ${state.role} term=${state.term} leader=${state.leader ?? '-'}`);
        this.invariants.onRoleChange(id, state);
        if (state.role === 'leader') this.faultAtPoint(member, 'elected');
      },
      scheduler: process,
      // New in every process, as the random production one is (the incarnation survives a data-mode restart).
      sessionClient: `s${++this.processes}`,
      raftTuning: { ...this.profile.raft, testOnlyBugs: this.options.testOnlyBugs },
      testOnlyBugs: this.options.driverBugs,
    });
    const apply = node.machine.apply.bind(node.machine);
    let firstCommitTerm = 0;
    node.machine.apply = (entry: Entry) => {
      this.invariants.onApplied(id, entry);
      this.locks?.onApplied(entry);
      const applied = apply(entry);
      if (node.isLeader() && entry.term > firstCommitTerm) {
        // A new leader's first commit: what it commits of earlier terms is not yet known to the others.
        firstCommitTerm = entry.term;
        this.faultAtPoint(member, 'first-commit');
      }
      return applied;
    };
    member.transport = transport;
    member.node = node;
    node.start().catch((error: Error) => this.invariants.fail(`${id} failed to start: ${error.message}`));
  }

  crash(id: NodeId, downMs: number): void {
    const member = this.members.get(id)!;
    if (!member.process || this.healing) return;
    const memoryLoss = this.profile.memoryMode;
    // Memory mode promises safety while fewer than a majority lose their memory at once (README).
    if (memoryLoss && !this.mayLoseMemory(id)) return;
    if (memoryLoss) this.lostSeats.add(id);
    member.disk?.crash();
    this.kill(member, downMs, memoryLoss ? 'crash (memory lost)' : 'crash');
  }

  /** Ends the member's process at once (its disk crashes with it) and restarts it after `downMs`. */
  private kill(member: SimMember, downMs: number, cause: string): void {
    const id = member.id;
    this.count(cause);
    member.process!.crash();
    if (member.transport) this.wire.detach(member.transport);
    member.process = null;
    member.transport = null;
    member.node = null;
    if (this.profile.memoryMode) {
      member.memory = new MemoryStorage();
      member.incarnation = `${id}.${++this.restarts}`;
    }
    if (this.random.chance(this.profile.peerDownRate)) this.wire.signalPeerDown(id, this.random.int(20));
    this.time.at(this.time.now + downMs, () => this.restart(member));
    this.log(`${cause} ${id} for ${downMs} ms`);
  }

  private restart(member: SimMember): void {
    if (member.process) return;
    this.log(`restart ${member.id} as ${member.incarnation}`);
    this.boot(member);
    if (this.staleLeader?.rejoining === member.id) this.rejoinBesideStaleLeader(member.id);
  }

  /** Storage that shows the simulator each save before it happens (for isolateOnConfigAppend). */
  private watchSaves(member: SimMember, storage: RaftStorage): RaftStorage {
    if (this.profile.isolateOnConfigAppendRate === 0) return storage;
    return {
      load: () => storage.load(),
      save: (hardState, entries) => {
        this.isolateOnConfigAppend(member, entries);
        return storage.save(hardState, entries);
      },
      saveSnapshot: (snapshot, keep) => storage.saveSnapshot(snapshot, keep),
      close: () => storage.close(),
    };
  }

  /**
   * Cuts off a follower that is storing a configuration removing its leader, before its answer goes out:
   * it may time out and lead that configuration alone while the removed leader lingers.
   */
  private isolateOnConfigAppend(member: SimMember, entries: readonly Entry[]): void {
    const node = member.node;
    if (this.healing || !node || !entries.some((entry) => entry.kind === 'config')) return;
    const status = node.localStatus();
    if (status.role === 'leader' || status.leader === null) return;
    // Its leader removed itself and left it the lone voter: cut off, it will lead that configuration.
    const voters = status.members.filter((m) => m.voter);
    if (voters.length !== 1 || voters[0]!.id !== member.id) return;
    if (!this.shapes.chance(this.profile.isolateOnConfigAppendRate)) return;
    // Longer than a request's timeout, mostly: clients stuck on the removed leader's writes come back in time.
    const downMs = 2_000 + this.shapes.int(6_000);
    this.count('isolate@config-append');
    this.log(`config append: isolate ${member.id} for ${downMs} ms`);
    this.wire.network.partition([member.id], this.others(member.id));
    this.time.at(this.time.now + downMs, () => this.wire.network.reconnect(member.id));
  }

  /**
   * A memory-mode interleaving with random participants and timing (as in the core simulation): the
   * leader is cut off (without CheckQuorum it lingers, taking writes it cannot commit); once the others
   * elected a leader, a follower loses its memory and comes back reachable only by the old leader, whose
   * log it takes; then it reconnects to the others, whose leader may still hold its old process's match.
   */
  private staleLeaderStep(): void {
    if (this.healing) return;
    this.time.at(this.time.now + STALE_LEADER_STEP_MS, () => this.staleLeaderStep());
    const scenario = this.staleLeader;
    if (scenario === null) {
      const leader = this.leader();
      if (!leader || !this.shapes.chance(0.1)) return;
      this.wire.network.partition([leader], this.others(leader));
      this.staleLeader = { leader, since: this.time.now, rejoining: null };
      this.count('stale leader');
      this.log(`stale leader: cut off ${leader}`);
      return;
    }
    if (scenario.rejoining !== null) return;
    const current = this.leader();
    if (this.time.now - scenario.since > 5_000) return this.endStaleLeader();
    if (!current || current === scenario.leader || this.time.now - scenario.since < 1_000) return;
    const victim = this.members.get(
      this.shapes.pick(this.others(scenario.leader).filter((id) => id !== current)),
    )!;
    if (victim.process) this.crash(victim.id, this.shapes.int(300));
    // Refused (see mayLoseMemory), or the node was down already.
    if (victim.process || !this.lostSeats.has(victim.id)) return this.endStaleLeader();
    scenario.rejoining = victim.id;
  }

  private rejoinBesideStaleLeader(id: NodeId): void {
    const { leader } = this.staleLeader!;
    this.wire.network.reconnect(id);
    this.wire.network.partition(
      [id],
      this.others(id).filter((other) => other !== leader),
    );
    this.log(`stale leader: ${id} back beside ${leader} only`);
    this.time.at(this.time.now + 100 + this.shapes.int(1_500), () => this.wire.network.reconnect(id));
    this.endStaleLeader();
  }

  private endStaleLeader(): void {
    const { leader } = this.staleLeader!;
    this.staleLeader = null;
    this.time.at(this.time.now + 500 + this.shapes.int(3_000), () => this.wire.network.reconnect(leader));
  }

  private others(id: NodeId): NodeId[] {
    return this.nodeIds().filter((other) => other !== id);
  }

  /**
   * Memory mode promises safety while a majority of the voters keep their memory (README): a loss only
   * while, after it, a majority of the leader's committed voters are up with the process their seat names.
   * A learner that loses it counts among the voters, and so must a majority of voters and learners together
   * stay intact: the leader may promote a learner before it hears that its process is gone. Others may
   * meanwhile be down, partitioned, paused, rejoining or behind.
   */
  private mayLoseMemory(id: NodeId): boolean {
    const leader = this.leaderNode();
    // A removal in flight may already rule as a smaller configuration, where one loss can be a majority.
    if (!leader || this.removing.size > 0) return false;
    const status = leader.localStatus();
    if (status.commitIndex !== status.lastIndex) return false;
    // A lost seat counts as regained (for membership churn, which waits for it) once its process caught up.
    for (const lost of this.lostSeats) {
      const member = this.members.get(lost)!;
      const seat = status.members.find((m) => m.id === lost);
      const caughtUp =
        this.holdsSeat(leader, lost) &&
        member.node!.machine.appliedIndex >= status.commitIndex &&
        seat?.voter === true &&
        seat.matchIndex === status.lastIndex;
      if (caughtUp) this.lostSeats.delete(lost);
    }
    const keepsMajority = (seats: readonly NodeId[]): boolean =>
      seats.filter((other) => other !== id && this.holdsSeat(leader, other)).length * 2 > seats.length;
    const seated = status.members.filter((m) => m.voter || m.id !== status.nodeId);
    const promotable = seated.filter((m) => m.voter || m.id === id).map((m) => m.id);
    return keepsMajority(promotable) && keepsMajority(seated.map((m) => m.id));
  }

  /** The member's process is up and is the one the leader's configuration seats. */
  private holdsSeat(leader: RaftNode, id: NodeId): boolean {
    const member = this.members.get(id)!;
    return (
      member.process !== null && member.node !== null && seatIncarnation(leader, id) === member.incarnation
    );
  }

  /** Membership changes only while every voter is up and caught up, and no seat is being regained. */
  private wholeCluster(leader: RaftNode): boolean {
    if (this.lostSeats.size > 0) return false;
    const status = leader.localStatus();
    if (status.commitIndex !== status.lastIndex) return false;
    for (const seat of status.members) {
      if (!seat.voter) continue;
      const process = this.members.get(seat.id)?.process;
      if (!process || process.pausedUntil > this.time.now || seat.matchIndex !== status.lastIndex)
        return false;
    }
    return true;
  }

  private leaderNode(): RaftNode | null {
    let best: RaftNode | null = null;
    let bestTerm = -1;
    for (const member of this.members.values()) {
      const node = member.node;
      if (!node?.isLeader() || member.process!.pausedUntil > this.time.now) continue;
      const term = node.localStatus().term;
      if (term > bestTerm) {
        best = node;
        bestTerm = term;
      }
    }
    return best;
  }

  // ---- NemesisTarget ----

  nodeIds(): readonly NodeId[] {
    return [...this.members.keys()];
  }

  leader(): NodeId | null {
    return this.leaderNode()?.id ?? null;
  }

  crashedCount(): number {
    return [...this.members.values()].filter((m) => m.process === null).length;
  }

  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.count('partition');
    this.wire.network.partition(a, b);
  }

  blockOneWay(from: NodeId, to: NodeId): void {
    this.count('one-way');
    this.wire.network.blockOneWay(from, to);
  }

  clog(from: NodeId, to: NodeId): void {
    this.count('clog');
    this.wire.network.clog(from, to);
  }

  unclogOne(): void {
    const released = this.wire.network.unclogOne();
    if (!released) return;
    this.log(`unclog ${released.from} -> ${released.to} (${released.messages.length} held)`);
    for (const delivery of this.random.shuffle(released.messages)) {
      this.time.at(this.time.now + this.wire.network.delay(), delivery);
    }
  }

  pause(id: NodeId, pausedMs: number): void {
    const process = this.members.get(id)!.process;
    if (!process || process.pausedUntil > this.time.now) return;
    this.count('pause');
    process.pausedUntil = this.time.now + pausedMs;
    this.log(`pause ${id} for ${pausedMs} ms`);
  }

  heal(): void {
    this.count('heal');
    this.wire.network.heal();
  }

  log(text: string): void {
    this.trace.line(this.time.now, text);
  }

  /**
   * Every client call to a process still running settles: the run goes on, idle, until none waits or the
   * oldest waited CALL_SETTLE_BOUND_MS (a write's deadline is REQUEST_TIMEOUT_MS; a read-modify-write
   * makes up to eight calls).
   */
  private async checkCallsSettle(): Promise<void> {
    const end = this.time.now + CALL_SETTLE_BOUND_MS;
    while (this.workload.awaitsCalls() && this.time.now <= end) {
      if (!(await this.time.step())) break;
    }
    const hang = this.workload.unsettledCall(this.time.now, CALL_SETTLE_BOUND_MS);
    if (hang) this.invariants.fail(`hang: ${hang}`);
  }

  // ---- WorkloadHost ----

  reachable(): readonly ClientTarget[] {
    const targets: ClientTarget[] = [];
    for (const member of this.members.values()) {
      const { node, process } = member;
      if (!node || !process || process.pausedUntil > this.time.now) continue;
      targets.push({
        id: member.id,
        node,
        incarnation: member.incarnation,
        now: () => process.now(),
        alive: () => process.alive,
      });
    }
    return targets;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.time.at(this.time.now + ms, resolve));
  }

  virtualNow(): number {
    return this.time.now;
  }

  within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
    return new Promise((resolve, reject) => {
      const timer = this.time.at(this.time.now + ms, () => resolve('timeout'));
      promise.then(
        (value) => {
          timer.cancelled = true;
          resolve(value);
        },
        (error: unknown) => {
          timer.cancelled = true;
          reject(error as Error);
        },
      );
    });
  }

  // ---- phases and checks ----

  private nemesis(): void {
    if (this.healing) return;
    if (this.random.chance(this.profile.churnRate)) this.churn();
    else runNemesisStep(this.random, this.plan, this);
    if (this.wire.network.isClogged() && this.random.chance(0.3)) this.unclogOne();
    const next =
      this.plan.minIntervalMs + this.random.int(this.plan.maxIntervalMs - this.plan.minIntervalMs + 1);
    this.time.at(this.time.now + next, () => this.nemesis());
  }

  /**
   * Leadership transfer, or `removeMember` (of the leader half the time) through a random node. A removed
   * member is decommissioned: wiped, and started again later as a new member that rejoins by discovery.
   */
  private churn(): void {
    const leader = this.leaderNode();
    const targets = this.reachable();
    if (!leader || targets.length === 0) return;
    // Only from a whole cluster: removing a member while another's seat is lost can leave the new
    // configuration without a live majority for good (there is no strict reconfiguration check).
    if (!this.wholeCluster(leader)) return;
    const via = this.random.pick(targets);
    const others = this.nodeIds().filter((id) => id !== leader.id);
    if (this.random.chance(0.4)) {
      const target = this.random.chance(0.3) ? null : this.random.pick(others);
      this.count('transfer');
      this.log(`transfer leadership from ${leader.id} to ${target ?? 'any'} via ${via.id}`);
      via.node.transferLeadership(target).catch(() => {});
      return;
    }
    const voters = leader.localStatus().members.filter((m) => m.voter);
    if (voters.length < 2) return;
    let victim = this.random.chance(0.5) ? leader.id : this.random.pick(voters).id;
    // Down to two voters, the leader removes itself: a leader that is no voter of its configuration.
    if (this.profile.downToOneVoter && voters.length === 2) victim = leader.id;
    this.removeMember(leader, via, victim, this.random);
  }

  /**
   * The downToOneVoter shape: the leader removes members, often, from a whole cluster; down to two
   * voters it removes itself.
   */
  private membershipStep(): void {
    if (this.healing) return;
    this.time.at(this.time.now + MEMBERSHIP_STEP_MS, () => this.membershipStep());
    if (this.removing.size > 0 || !this.shapes.chance(0.8)) return;
    const leader = this.leaderNode();
    const targets = this.reachable();
    if (!leader || targets.length === 0 || this.lostSeats.size > 0) return;
    // Every voter running (not necessarily caught up): the new configuration keeps a live majority.
    const status = leader.localStatus();
    if (status.commitIndex !== status.lastIndex) return;
    const voters = status.members.filter((m) => m.voter);
    if (voters.some((m) => !this.members.get(m.id)?.process)) return;
    if (voters.length < 2) return;
    // Mostly a follower first, so that the cluster soon reaches two voters.
    const followers = voters.filter((m) => m.id !== leader.id);
    const victim =
      voters.length === 2 || this.shapes.chance(0.2) ? leader.id : this.shapes.pick(followers).id;
    this.removeMember(leader, this.shapes.pick(targets), victim, this.shapes);
  }

  private removeMember(leader: RaftNode, via: ClientTarget, victim: NodeId, random: SeededRandom): void {
    this.count('remove member');
    // Coverage: churn goes on after a lost removal (one left pending for good would end it).
    if (this.faultCounts['remove member lost']) this.count('remove member after a lost one');
    this.log(`remove ${victim} via ${via.id}`);
    this.removing.add(victim);
    if (victim === leader.id && random.chance(0.5)) {
      // Cut the leader off while its own removal is in flight: it may go on serving with a configuration
      // it is no longer part of, while the others elect a leader of a newer term.
      const at = this.time.now + random.int(40);
      const ms = 300 + random.int(2000);
      this.time.at(at, () => {
        if (this.healing) return;
        this.log(`isolate removed leader ${victim} for ${ms} ms`);
        this.partition(
          [victim],
          this.nodeIds().filter((id) => id !== victim),
        );
        this.time.at(this.time.now + ms, () => this.wire.network.reconnect(victim));
      });
    }
    this.removalsInFlight.add(victim);
    via.node.changeMembership({ type: 'remove', id: victim }).then(
      // Also after an earlier decommission: a retried removal may have removed the rejoined member.
      () => {
        this.removalsInFlight.delete(victim);
        this.retire(victim);
      },
      () => this.removalsInFlight.delete(victim),
    );
  }

  /**
   * Members whose removal the leader committed are decommissioned, whether or not the caller heard; so is
   * a running node left outside the configuration for long (a retried removal can take a rejoined member).
   */
  private decommissionRemoved(): void {
    const leader = this.leaderNode();
    if (!leader) return;
    const status = leader.localStatus();
    if (status.commitIndex !== status.lastIndex) return;
    const inConfig = (id: NodeId): boolean =>
      status.members.some((m) => m.id === id && (m.id !== status.nodeId || m.voter));
    for (const id of this.removing) {
      if (!inConfig(id)) {
        this.retire(id);
      } else if (!this.removalsInFlight.has(id)) {
        // The call gave up and the leader's configuration, all committed, still holds the member: the
        // removal was lost. Left pending, it would stop membership churn and memory loss for the rest of the run.
        this.removing.delete(id);
        this.count('remove member lost');
        this.log(`removing ${id} was lost`);
      }
    }
    for (const member of this.members.values()) {
      if (!member.process || inConfig(member.id)) {
        this.outsideSince.delete(member.id);
        continue;
      }
      const since = this.outsideSince.get(member.id) ?? this.time.now;
      this.outsideSince.set(member.id, since);
      if (this.time.now - since < OUTSIDE_LIMIT_MS) continue;
      this.outsideSince.delete(member.id);
      this.decommission(member.id);
    }
  }

  /**
   * Decommissions a member whose removal is committed; with downToOneVoter mostly not at once: it may
   * linger a while, a leader of an older term.
   */
  private retire(id: NodeId): void {
    this.removing.delete(id);
    const member = this.members.get(id)!;
    if (!this.profile.downToOneVoter || this.healing || this.shapes.chance(0.05)) {
      this.decommission(id);
      return;
    }
    const { incarnation } = member;
    const ms = 2_000 + this.shapes.int(4_000);
    this.log(`${id} removed, lingers for ${ms} ms`);
    this.time.at(this.time.now + ms, () => {
      // It may have been seated again meanwhile, maybe as the last holder of the data: only a member still
      // outside the configuration is wiped (without a leader to tell, `decommissionRemoved` wipes it later).
      if (member.incarnation === incarnation && this.outsideConfig(id)) this.decommission(id);
    });
  }

  /** Whether the leader's configuration, fully committed, leaves the member out. */
  private outsideConfig(id: NodeId): boolean {
    const leader = this.leaderNode();
    if (!leader) return false;
    const status = leader.localStatus();
    if (status.commitIndex !== status.lastIndex) return false;
    return !status.members.some((m) => m.id === id && (m.id !== status.nodeId || m.voter));
  }

  private decommission(id: NodeId): void {
    const member = this.members.get(id)!;
    if (!member.process) return;
    this.log(`decommission ${id}: wiped, back as a new member`);
    member.disk?.crash();
    this.kill(member, 100 + this.random.int(2000), 'decommission');
    member.disk = null;
    member.memory = new MemoryStorage();
    member.incarnation = `${id}.${++this.restarts}`;
  }

  private startHealing(): void {
    this.healing = true;
    this.workload.stop();
    this.locks?.stop();
    this.wire.network.heal();
    while (this.wire.network.isClogged()) this.unclogOne();
    for (const member of this.members.values()) {
      if (member.process) member.process.pausedUntil = 0;
      else this.restart(member);
    }
    this.log('healing: faults stopped');
  }

  /** Every node up, applied up to the leader's commit, which covers the leader's whole log. */
  private converged(): boolean {
    const leader = this.leaderNode();
    if (!leader) return false;
    const status = leader.localStatus();
    if (status.commitIndex !== status.lastIndex) return false;
    for (const member of this.members.values()) {
      if (!member.node || member.node.machine.appliedIndex !== status.commitIndex) return false;
    }
    return true;
  }

  /** Replicas at the same applied index hold the same state: data, versions, TTL deadlines and sessions. */
  private checkReplicasAgree(): void {
    const images = new Map<NodeId, Buffer>();
    for (const member of this.members.values()) {
      const machine = member.node!.machine;
      images.set(member.id, Buffer.from(encodeImage(machine.capture())));
    }
    const [first, ...rest] = [...images.entries()];
    for (const [id, image] of rest) {
      if (!image.equals(first![1])) {
        this.invariants.fail(`convergence: ${id} and ${first![0]} differ at the same applied index`);
        return;
      }
    }
  }

  /** Local and leader reads return only values some node applied, never one that was never committed. */
  private checkReads(): void {
    for (const read of this.workload.uncheckedReads) {
      if (read.value === null || this.appliedValues.has(`${read.key}=${JSON.stringify(read.value)}`))
        continue;
      this.invariants.fail(
        `${read.consistency} read of ${read.key} returned ${JSON.stringify(read.value)}, never applied`,
      );
      return;
    }
  }

  /**
   * Checked when the leader's configuration is committed (nothing past its commit) and names every node a
   * voter: every entry committed so far is then on a majority of all the disks.
   */
  private async checkDurability(): Promise<void> {
    const leader = this.leaderNode();
    if (!leader) return;
    const status = leader.localStatus();
    if (status.commitIndex !== status.lastIndex) return;
    if (status.members.filter((m) => m.voter).length !== this.members.size) return;
    const disks: StoredState[] = [];
    for (const member of this.members.values()) {
      if (!member.disk) return;
      try {
        disks.push(await loadAfterCrash(member.disk, this.options.sharedWal ?? false));
      } catch (error) {
        // A disk the restarted node could not load is as lost as one that lacks committed entries.
        this.invariants.fail(`${member.id} cannot load its storage: ${(error as Error).message}`);
        return;
      }
    }
    this.invariants.checkDurability(disks);
  }

  private count(kind: string): void {
    this.faultCounts[kind] = (this.faultCounts[kind] ?? 0) + 1;
  }
}

/**
 * Storage whose answers reach only a living process: a crashed process's awaits never settle, as the
 * process is gone, instead of failing inside code that no longer runs.
 */
function boundToProcess(
  storage: RaftStorage,
  process: SimProcess,
  crashBeforeWrite: (
    write: 'save' | 'install' | 'snapshot',
    hardState?: HardState | null,
    entries?: readonly Entry[],
  ) => boolean,
): RaftStorage {
  const never = new Promise<never>(() => {});
  const bound = <T>(promise: Promise<T>): Promise<T> =>
    new Promise((resolve, reject) =>
      promise.then(
        (value) => {
          if (process.alive) resolve(value);
        },
        (error: unknown) => {
          if (process.alive) reject(error as Error);
        },
      ),
    );
  return {
    load: () => bound(storage.load()),
    save: (hardState, entries) => {
      if (crashBeforeWrite('save', hardState, entries)) return never;
      const saving = storage.save(hardState, entries);
      return saving ? bound(saving) : saving;
    },
    saveSnapshot: (snapshot, keep) =>
      crashBeforeWrite(keep ? 'snapshot' : 'install') ? never : bound(storage.saveSnapshot(snapshot, keep)),
    close: () => bound(storage.close()),
  };
}

/**
 * The process the leader's configuration seats for `id`. Read from the core's private state: the driver
 * publishes no incarnations, and a match index alone may still be the old process's (issue 10).
 */
function seatIncarnation(leader: RaftNode, id: NodeId): string | undefined {
  const core = (
    leader as unknown as { raft: { membership: { current: { incarnations?: Record<string, string> } } } }
  ).raft;
  return core.membership.current.incarnations?.[id];
}

/** What the storage would load from `disk` if it crashed now and lost everything not synced. */
async function loadAfterCrash(disk: SimFileSystem, sharedWal: boolean): Promise<StoredState> {
  const copy = new SimFileSystem({ random: { int: () => 0 } });
  for (const [path, data] of disk.durableFiles()) {
    const dir = path.slice(0, path.lastIndexOf('/')) || '/';
    await copy.mkdir(dir);
    const file = await copy.open(path, 'w');
    await file.write(data);
    await file.close();
  }
  if (sharedWal) return new SharedWal({ dataDir: DATA_DIR, fs: copy }).storageFor(SHARED_WAL_GROUP).load();
  return new FileStorage({ dir: DATA_DIR, fs: copy }).load();
}

export function runDriverSimulation(options: DriverSimulationOptions): Promise<DriverSimulationResult> {
  return new DriverSimulation(options).run();
}
