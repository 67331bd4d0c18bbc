import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { ClientSession } from '../driver/client-session.ts';
import { GroupHost, type GroupNodeOptions } from '../driver/group-host.ts';
import type { RaftNode } from '../driver/raft-node.ts';
import { delay, systemScheduler, type Scheduler } from '../driver/scheduler.ts';
import {
  BusyError,
  InvalidArgumentError,
  RequestTimeoutError,
  StoppedError,
  ValueTooLargeError,
} from '../errors.ts';
import { partitionOf } from '../partition/key-partition.ts';
import { decodePartitionTable, encodePartitionTable } from '../partition/partition-table-codec.ts';
import { createPartitionTable, type PartitionTable } from '../partition/partition-table.ts';
import { DEFAULT_REPLICAS } from '../partition/placement-planner.ts';
import { SeededRandom, type RandomSource } from '../raft/random.ts';
import type { NodeId } from '../raft/types.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import {
  encodeCommand,
  encodedSize,
  type CommandResult,
  type KvCommand,
  type LoggedCommand,
} from '../state-machine/commands.ts';
import type { KvRecord } from '../state-machine/kv-record.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import { FeedFollower } from './feed-follower.ts';
import { decodeGridCursor, type GridCursor } from './grid-cursor.ts';
import { GridRequestBatcher, StaleReplica, TableRedirect } from './grid-request-batcher.ts';
import type { GridChangeEvent, GridConsistency, GridNodeOptions, GridPartitionStatus } from './grid-types.ts';
import {
  GRID_CHANNEL,
  toGridRequest,
  type FeedAnswer,
  type GridEventsRequest,
  type GridOp,
  type GridOutcome,
  type GridReply,
} from './grid-wire.ts';
import { PartitionFeed } from './partition-feed.ts';

/** The coordination group: locks, sessions, elections, and later the members and the partition table. */
export const COORDINATION_GROUP = 0;
/**
 * Voters of the coordination group at most: members join it on their own (the first five in sorted order
 * are the ones probed), and those beyond the cap stay learners, so every node holds the table and the
 * majority stays small. A learner is promoted when a voter leaves (placement takes out members dead past
 * their timeout or drained).
 */
export const MAX_COORDINATION_VOTERS = 5;
/** Per partition this node holds a replica of (none for the others): far fewer than a lone group's 10,000. */
const DEFAULT_HISTORY = 1_000;
const FEED_BATCH = 1_000;

export interface GridListOptions {
  readonly prefix?: string;
  /** Exclusive: only keys sorted after this one. */
  readonly after?: string;
  readonly limit: number;
}

export interface GridListPage {
  readonly entries: [string, KvRecord][];
  /** More keys follow the last one returned. */
  readonly more: boolean;
}

/** The group of partition `partition`. */
export function groupOf(partition: number): number {
  return partition + 1;
}

/**
 * One node of a partitioned grid: hosts, through one GroupHost over one transport, the coordination group and
 * the Raft group of every partition the table places here, and routes every call to its partition's group:
 * to the local replica when it holds one (which forwards writes to its leader and runs ReadIndex itself),
 * otherwise over the network to a replica (batched per destination per turn, carrying this node's table
 * epoch). Every node's `changes$` carries every partition's changes: its own replicas', and the others'
 * followed from a replica.
 */
export class GridNode {
  readonly partitions: number;
  private readonly options: GridNodeOptions;
  private readonly logger: Logger;
  private readonly scheduler: Scheduler;
  private readonly host: GroupHost;
  private readonly feeds: PartitionFeed[];
  private readonly subject = new Subject<GridChangeEvent>();
  /** Sessions of the writes this node routes to partitions it holds no replica of, one per partition. */
  private readonly sessions: ClientSession[];
  /** The leader each partition's replicas last named. */
  private readonly leaderHints: (NodeId | null)[];
  private readonly groupRandom: RandomSource;
  private current: PartitionTable;
  private service!: PeerTransport;
  private batcher!: GridRequestBatcher;
  private follower!: FeedFollower;
  /** Whether the table's listings of this node are this process's (placement's say; see `hostOnlyWhile`). */
  private listingsMine: () => boolean = () => true;
  /** Table changes are carried out one at a time, in epoch order. */
  private reconciling: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;
  private readonly counters = { routedOps: 0, servedOps: 0, redirects: 0 };

  constructor(options: GridNodeOptions) {
    if (!Number.isInteger(options.partitions) || options.partitions < 2) {
      throw new InvalidArgumentError(`a grid has 2 or more partitions, got ${options.partitions}`);
    }
    this.options = options;
    this.partitions = options.partitions;
    this.logger = new Logger(`imdgo grid ${options.id}`);
    this.scheduler = options.scheduler ?? systemScheduler;
    this.current = options.awaitTable ? unplacedTable(options.partitions) : this.formationTable();
    this.host = new GroupHost({
      transport: options.transport,
      scheduler: this.scheduler,
      ...(options.quiesce === undefined ? {} : { quiesce: options.quiesce }),
      // A quiet group learns its leader is gone as an awake one would: after one election timeout of silence.
      beatMs: options.group.tickMs * options.group.heartbeatTicks,
      peerTimeoutMs: options.group.tickMs * options.group.electionTicks,
    });
    const history = options.historySize ?? DEFAULT_HISTORY;
    this.feeds = Array.from(
      { length: this.partitions },
      (_, partition) => new PartitionFeed(history, (event) => this.subject.next({ ...event, partition })),
    );
    this.groupRandom = options.random;
    this.sessions = Array.from({ length: this.partitions }, () => new ClientSession(this.randomId()));
    this.leaderHints = Array.from({ length: this.partitions }, () => null);
  }

  get id(): NodeId {
    return this.options.id;
  }

  /** This process's incarnation (a memory-mode restart is a new one). */
  get incarnation(): string {
    return this.options.incarnation;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('the grid node is already started');
    this.started = true;
    this.service = this.host.serviceChannel(GRID_CHANNEL);
    this.service.onRequest((from, payload) => this.answer(from, payload));
    this.service.onMessage(() => {});
    this.service.onPeerDown(() => {});
    // The links every group asks for are enough: the grid's requests reopen any other on demand.
    this.service.retain?.([]);
    this.batcher = new GridRequestBatcher(
      this.service,
      this.scheduler,
      () => this.current.epoch,
      (table) => this.adoptEncoded(table),
    );
    this.follower = new FeedFollower({
      self: this.id,
      transport: this.service,
      scheduler: this.scheduler,
      feeds: this.feeds,
      table: () => this.current,
      hosts: (partition) => this.host.group(groupOf(partition)) !== undefined,
      adopt: (table) => this.adoptEncoded(table),
      waitMs: this.options.group.electionTicks * this.options.group.tickMs,
      retryMs: this.options.group.tickMs * this.options.group.heartbeatTicks * 2,
    });
    await this.host.start();
    await this.createGroup(COORDINATION_GROUP, this.coordinationVoters());
    await this.reconcile();
    this.follower.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.follower?.stop();
    await this.host.stop();
    this.subject.complete();
  }

  partitionOf(map: string, key: string): number {
    return partitionOf(map, key, this.partitions);
  }

  /** The partition table this node routes by: epoch 0, placing nothing, while it awaits one (`awaitTable`). */
  table(): PartitionTable {
    return this.current;
  }

  /** The first table of a grid formed by `members` (every formation member computes the same one). */
  formationTable(): PartitionTable {
    const members = [...this.options.members].sort();
    return createPartitionTable(this.partitions, members, this.options.replicas ?? DEFAULT_REPLICAS);
  }

  /**
   * Replaces the table by a newer one (the placement loop's seam: it reads tables from the coordination
   * group), then creates the groups it places here and destroys those it no longer does. Returns false,
   * changing nothing, for a table not newer than the current one.
   */
  async adoptTable(table: PartitionTable): Promise<boolean> {
    if (table.partitions.length !== this.partitions) {
      throw new InvalidArgumentError(
        `the table has ${table.partitions.length} partitions, this grid ${this.partitions}`,
      );
    }
    if (table.epoch <= this.current.epoch) return false;
    this.current = table;
    await this.reconcile();
    return true;
  }

  /**
   * Hosts the partitions the table places here only while `mine` holds: placement shuts it while its
   * metadata knows this member as another incarnation, or its replicas as an earlier one's (stale), so a
   * restarted process never takes up the seats its lost predecessor held. Applies at once; call `rehost`
   * when what `mine` reads changes.
   */
  hostOnlyWhile(mine: () => boolean): Promise<void> {
    this.listingsMine = mine;
    return this.reconcile();
  }

  /** Brings the hosted groups in line with the table again (the `hostOnlyWhile` condition changed). */
  rehost(): Promise<void> {
    return this.reconcile();
  }

  /**
   * Tells every group here that `id`'s process is gone (it restarted as a new incarnation): under the same
   * address the new process keeps the node pair alive, so quiet groups the old one led would never elect.
   */
  peerLost(id: NodeId): void {
    this.host.peerLost(id);
  }

  /** The coordination group's node on this member (every member hosts it). */
  get coordination(): RaftNode {
    const node = this.host.group(COORDINATION_GROUP);
    if (!node) throw new StoppedError();
    return node;
  }

  /** This node's replica of `partition`, if it holds one. */
  replica(partition: number): RaftNode | undefined {
    return this.host.group(groupOf(this.assertPartition(partition)));
  }

  // ---- data ----

  /** Applies `command` to `partition`'s group; the result's revision is the partition's. */
  async write(
    partition: number,
    command: KvCommand,
    maxValueBytes = Number.POSITIVE_INFINITY,
  ): Promise<CommandResult> {
    this.assertRunning();
    // Local or routed, a write carries this node's session stamp for the partition: if placement destroys
    // the local replica under it, the retry through a replica elsewhere still applies at most once.
    const session = this.sessions[partition]!;
    const stamp = session.begin();
    try {
      const data = encodable({ session: stamp, command });
      if (data.byteLength > maxValueBytes && 'value' in command) {
        const valueBytes = encodedSize(command.value);
        if (valueBytes > maxValueBytes) throw new ValueTooLargeError(valueBytes, maxValueBytes);
      }
      const started = this.scheduler.monotonic();
      const result = (await this.run({ op: 'write', partition, data })) as CommandResult;
      const led = this.replica(partition)?.isLeader() ?? false;
      this.options.observer?.writeCompleted((this.scheduler.monotonic() - started) / 1000, !led);
      return result;
    } finally {
      session.end(stamp.seq);
    }
  }

  async read(
    partition: number,
    map: string,
    key: string,
    consistency: GridConsistency,
  ): Promise<KvRecord | undefined> {
    this.assertRunning();
    const record = await this.run({ op: 'read', partition, map, key, consistency });
    return (record as KvRecord | null) ?? undefined;
  }

  /** Keys of `map` in `partition`, in key order, paged by `after` and `limit`. */
  async list(
    partition: number,
    map: string,
    options: GridListOptions,
    consistency: GridConsistency,
  ): Promise<GridListPage> {
    this.assertRunning();
    if (!Number.isSafeInteger(options.limit) || options.limit < 0) {
      throw new InvalidArgumentError(`limit must be a non-negative integer, got ${options.limit}`);
    }
    const op: GridOp = {
      op: 'list',
      partition,
      map,
      limit: options.limit,
      consistency,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.after === undefined ? {} : { after: options.after }),
    };
    return (await this.run(op)) as GridListPage;
  }

  async size(partition: number, map: string, consistency: GridConsistency): Promise<number> {
    this.assertRunning();
    return (await this.run({ op: 'size', partition, map, consistency })) as number;
  }

  /**
   * A page of `map`'s keys across every partition, in key order: each partition's page after `after`, merged
   * and cut at `limit`, so the last key returned is the next call's `after`. Each partition is read at
   * `consistency`; the page as a whole is not one snapshot (partitions have no common revision).
   */
  async listAll(map: string, options: GridListOptions, consistency: GridConsistency): Promise<GridListPage> {
    const pages = await Promise.all(
      Array.from({ length: this.partitions }, (_, partition) =>
        this.list(partition, map, options, consistency),
      ),
    );
    const merged = pages.flatMap((page) => page.entries);
    merged.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      entries: merged.slice(0, options.limit),
      more: merged.length > options.limit || pages.some((page) => page.more),
    };
  }

  /** Keys of `map` in every partition. */
  async sizeAll(map: string, consistency: GridConsistency): Promise<number> {
    const sizes = await Promise.all(
      Array.from({ length: this.partitions }, (_, partition) => this.size(partition, map, consistency)),
    );
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  // ---- change feed ----

  /** Every partition's changes, live, on every node; per key in revision order, none across partitions. */
  get changes$(): Observable<GridChangeEvent> {
    return this.subject.asObservable();
  }

  /**
   * Every change after `cursor` (see GridPosition), then live ones, with no gap and no repeat. A partition
   * this node holds no replica of retains no history here: its changes up to now are read from a replica
   * (every event held back meanwhile). A partition whose changes after the cursor are no longer retained
   * (here for a replica, on every replica otherwise) gets a `reset` event, before any other event.
   */
  changesFrom(cursor: GridCursor): Observable<GridChangeEvent> {
    const revisions = decodeGridCursor(cursor, this.partitions);
    return new Observable<GridChangeEvent>((subscriber) => {
      // Until every partition replayed from a replica has answered, everything waits, so that a cursor
      // compacted anywhere is reported before any event (as etcd fails a watch on a compacted revision).
      // Per partition the order holds: its past (here or replayed), then its live events.
      const resets: GridChangeEvent[] = [];
      const past: GridChangeEvent[] = [];
      const live: GridChangeEvent[] = [];
      const replays: Promise<void>[] = [];
      let holding = true;
      this.feeds.forEach((feed, partition) => {
        const from = revisions[partition]! + 1;
        const here = feed.since(from);
        if (here !== null) {
          for (const event of here) past.push({ ...event, partition });
        } else if ((this.follower?.sourceOf(partition) ?? null) === null) {
          resets.push({ ...RESET, revision: feed.revision, partition });
        } else {
          const through = feed.revision;
          replays.push(
            this.follower.replay(partition, from, through).then((replayed) => {
              if (replayed === null) resets.push({ ...RESET, revision: through, partition });
              else for (const event of replayed) past.push({ ...event, partition });
            }),
          );
        }
      });
      const release = () => {
        holding = false;
        for (const event of [...resets, ...past, ...live]) subscriber.next(event);
      };
      if (replays.length === 0) release();
      else void Promise.all(replays).then(release);
      return this.subject.subscribe({
        next: (event) => {
          if (holding) live.push(event);
          else subscriber.next(event);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
  }

  /** Newest revision of `partition` this node's feed has emitted. */
  feedRevision(partition: number): number {
    return this.feeds[this.assertPartition(partition)]!.revision;
  }

  // ---- status ----

  status(): GridPartitionStatus[] {
    return this.current.partitions.map((replicas, partition) => {
      const local = this.host.group(groupOf(partition));
      const status = local?.localStatus();
      let lag: Record<NodeId, number> | null = null;
      if (status?.role === 'leader') {
        lag = {};
        for (const member of status.members) if (member.lag !== null) lag[member.id] = member.lag;
      }
      return {
        partition,
        group: groupOf(partition),
        // Copies: the table is the coordination group's replicated one, which a caller must not change.
        voters: [...replicas.voters],
        learners: [...replicas.learners],
        preferredLeader: replicas.leader,
        leader: status ? status.leader : this.leaderHints[partition]!,
        lag,
        role: status ? status.role : null,
        feedRevision: this.feeds[partition]!.revision,
      };
    });
  }

  /** Operations routed to other nodes and served for them, requests they travelled in, redirects taken. */
  stats(): { routedOps: number; servedOps: number; routedRequests: number; redirects: number } {
    return { ...this.counters, routedRequests: this.batcher?.counters.requests ?? 0 };
  }

  // ---- hosting ----

  private coordinationVoters(): NodeId[] {
    return [...this.options.members].sort().slice(0, MAX_COORDINATION_VOTERS);
  }

  /** Creates the groups the current table places here and destroys the others (the coordination group stays). */
  private reconcile(): Promise<void> {
    const run = this.reconciling.then(async () => {
      const table = this.current;
      for (const [partition, replicas] of table.partitions.entries()) {
        if (this.stopped) return;
        const placed =
          (replicas.voters.includes(this.id) || replicas.learners.includes(this.id)) && this.listingsMine();
        const group = groupOf(partition);
        const hosted = this.host.group(group) !== undefined;
        if (placed && !hosted) await this.createGroup(group, replicas.voters);
        else if (!placed && hosted) {
          await this.host.destroyGroup(group);
          this.feeds[partition]!.replicaStopped();
          await this.options.releaseStorage?.(group);
        }
      }
      this.follower?.schedule();
    });
    this.reconciling = run.catch((error: unknown) =>
      this.logger.error(`applying table ${this.current.epoch} failed: ${String(error)}`),
    );
    return run;
  }

  private async createGroup(group: number, members: readonly NodeId[]): Promise<void> {
    const partition = group - 1;
    const feed = group === COORDINATION_GROUP ? null : this.feeds[partition]!;
    feed?.replicaStarted();
    const options: GroupNodeOptions = {
      ...this.options.group,
      // The coordination leader's contact times drive failure detection and sessions: it never goes quiet.
      ...(group === COORDINATION_GROUP
        ? {
            raftTuning: { ...this.options.group.raftTuning, quiesce: false },
            maxVoters: MAX_COORDINATION_VOTERS,
          }
        : {}),
      id: this.id,
      members,
      incarnation: this.options.incarnation,
      storage: this.options.storageFor(group),
      random: new SeededRandom(this.groupRandom.int(2 ** 32)),
      sessionClient: this.randomId(),
      ...(this.options.observer === undefined ? {} : { observer: this.options.observer }),
      onChange: feed
        ? (change) => feed.applied(change)
        : (change) => this.options.onCoordinationChange?.(change),
      onReset: feed
        ? (revision) => feed.reset(revision)
        : (revision) => this.options.onCoordinationReset?.(revision),
      onRoleChange: (state) => {
        if (!feed) this.options.onCoordinationRoleChange?.(state);
        this.options.onGroupRoleChange?.(group, state);
      },
    };
    const node = await this.host.createGroup(group, options);
    this.options.onGroupStarted?.(group, node);
  }

  /** A session client id of this process (see GridNodeOptions.sessionIds). */
  private randomId(): string {
    return this.options.sessionIds?.() ?? randomBytes(9).toString('base64url');
  }

  private adoptEncoded(encoded: string): void {
    const table = decodePartitionTable(encoded);
    this.counters.redirects++;
    void this.adoptTable(table).catch((error: unknown) =>
      this.logger.warn(`refused a peer's partition table: ${String(error)}`),
    );
  }

  // ---- routing ----

  /** Runs `op` on this node's replica if it holds one, else on a replica elsewhere. */
  private async run(op: GridOp): Promise<unknown> {
    this.assertPartition(op.partition);
    const local = this.replica(op.partition);
    if (!local) return this.route(op);
    try {
      return await this.execute(local, op);
    } catch (error) {
      // Placement destroyed the replica under the call (a move off this node): a replica elsewhere serves it
      // (a write under the same session stamp, so at most once).
      if (error instanceof StoppedError && !this.stopped && this.replica(op.partition) !== local)
        return this.route(op);
      throw error;
    }
  }

  /**
   * Sends `op` to the replicas of its partition in turn (the leader last named, the preferred leader, the
   * others) until one does it or the request timeout passes. A newer table met on the way is adopted and the
   * round restarts under it; once it places a replica here, the local one serves.
   */
  private async route(op: GridOp): Promise<unknown> {
    const { requestTimeoutMs, tickMs, electionTicks } = this.options.group;
    const deadline = this.scheduler.now() + requestTimeoutMs;
    this.counters.routedOps++;
    // Whether a write went to a replica elsewhere, where it may have applied, though no answer came back.
    let sentElsewhere = false;
    for (;;) {
      const local = this.replica(op.partition);
      if (local && !sentElsewhere) return this.execute(local, op);
      if (local) {
        try {
          return await this.execute(local, op);
        } catch (error) {
          // BUSY says the write was not applied: true of the local attempt only. It waits, and once out of
          // time its outcome is unknown.
          if (!(error instanceof BusyError)) throw error;
          if (this.scheduler.now() >= deadline)
            throw new RequestTimeoutError(`routed ${op.op}`, requestTimeoutMs);
          await delay(this.scheduler, Math.min(tickMs, Math.max(1, deadline - this.scheduler.now())));
          continue;
        }
      }
      let redirected = false;
      for (const target of this.targets(op.partition)) {
        const remaining = deadline - this.scheduler.now();
        if (remaining <= 0) break;
        if (op.op === 'write') sentElsewhere = true;
        try {
          const outcome = await this.batcher.call(
            target,
            op,
            Math.min(remaining, 2 * electionTicks * tickMs),
          );
          if ('ok' in outcome) {
            this.leaderHints[op.partition] = outcome.leader ?? this.leaderHints[op.partition]!;
            return outcome.ok;
          }
          if ('error' in outcome) throw new InvalidArgumentError(String(outcome.error));
          if (outcome.leader) this.leaderHints[op.partition] = outcome.leader;
        } catch (error) {
          if (error instanceof InvalidArgumentError) throw error;
          if (error instanceof TableRedirect) {
            redirected = true;
            break;
          }
          if (!(error instanceof StaleReplica)) this.logger.debug(`${op.op} via ${target}: ${String(error)}`);
        }
        if (this.stopped) throw new StoppedError();
      }
      if (this.stopped) throw new StoppedError();
      if (this.scheduler.now() >= deadline)
        throw new RequestTimeoutError(`routed ${op.op}`, requestTimeoutMs);
      if (!redirected)
        await delay(this.scheduler, Math.min(tickMs, Math.max(1, deadline - this.scheduler.now())));
    }
  }

  /**
   * Replicas of `partition` to try, most likely to lead first; never this node. Without a table yet, the
   * other members: any that has one answers with a redirect carrying it.
   */
  private targets(partition: number): NodeId[] {
    if (this.current.epoch === 0) return this.options.members.filter((id) => id !== this.id);
    const replicas = this.current.partitions[partition]!;
    const hint = this.leaderHints[partition];
    const ordered = [
      ...(hint !== null && hint !== undefined && replicas.voters.includes(hint) ? [hint] : []),
      replicas.leader,
      ...replicas.voters,
      ...replicas.learners,
    ];
    return [...new Set(ordered)].filter((id) => id !== this.id);
  }

  /** What a replica does for `op`: writes through its group, reads at the asked consistency. */
  private async execute(node: RaftNode, op: GridOp): Promise<unknown> {
    switch (op.op) {
      case 'write':
        return node.writeStamped(op.data);
      case 'read':
        if (op.consistency === 'leader') return (await node.leaderRead(op.map, op.key)) ?? null;
        await this.barrier(node, op.consistency);
        return node.machine.get(op.map, op.key) ?? null;
      case 'list': {
        await this.barrier(node, op.consistency);
        const entries = node.machine.list(op.map, {
          limit: op.limit + 1,
          ...(op.prefix === undefined ? {} : { prefix: op.prefix }),
          ...(op.after === undefined ? {} : { after: op.after }),
        });
        return { entries: entries.slice(0, op.limit), more: entries.length > op.limit };
      }
      case 'size':
        await this.barrier(node, op.consistency);
        return node.machine.size(op.map);
    }
  }

  private async barrier(node: RaftNode, consistency: GridConsistency): Promise<void> {
    if (consistency === 'linearizable') await node.linearizableBarrier();
    else if (consistency === 'leader') await node.leaderBarrier();
  }

  // ---- serving peers ----

  private async answer(_from: string, payload: unknown): Promise<GridReply<GridOutcome | FeedAnswer>> {
    if (this.stopped) throw new StoppedError();
    const request = toGridRequest(payload, this.partitions);
    if (request === null) throw new Error('malformed grid request');
    if (request.epoch < this.current.epoch) return { redirect: encodePartitionTable(this.current) };
    if (request.epoch > this.current.epoch) return { stale: this.current.epoch };
    if (request.kind === 'grid-events') return { answers: await this.serveEvents(request) };
    return { answers: await Promise.all(request.ops.map((op) => this.serveOp(op))) };
  }

  private async serveOp(op: GridOp): Promise<GridOutcome> {
    const node = this.host.group(groupOf(op.partition));
    if (!node) return { retry: 'no replica of the partition here', leader: null };
    this.counters.servedOps++;
    try {
      const ok = await this.execute(node, op);
      return { ok, leader: node.localStatus().leader };
    } catch (error) {
      if (error instanceof InvalidArgumentError) return { error: error.message };
      return {
        retry: error instanceof Error ? error.message : String(error),
        leader: node.localStatus().leader,
      };
    }
  }

  /** Answers a long poll at once if any partition asked has news, else at the first event or after its hold. */
  private async serveEvents(request: GridEventsRequest): Promise<FeedAnswer[]> {
    const collect = (): FeedAnswer[] =>
      request.polls.map(([partition, from]) => {
        if (!this.host.group(groupOf(partition))) return { notHere: true };
        return this.feeds[partition]!.slice(from, FEED_BATCH);
      });
    const first = collect();
    if (hasNews(first) || request.polls.length === 0) return first;
    const holdMs = Math.min(request.waitMs, this.options.group.electionTicks * this.options.group.tickMs);
    await new Promise<void>((resolve) => {
      const wake = () => {
        this.scheduler.clearTimeout(timer);
        for (const [partition] of request.polls) this.feeds[partition]!.cancel(wake);
        resolve();
      };
      const timer = this.scheduler.setTimeout(wake, holdMs);
      for (const [partition] of request.polls) this.feeds[partition]!.onNext(wake);
    });
    return collect();
  }

  private assertPartition(partition: number): number {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new InvalidArgumentError(
        `partition must be an integer from 0 to ${this.partitions - 1}, got ${partition}`,
      );
    }
    return partition;
  }

  private assertRunning(): void {
    if (this.stopped || !this.started) throw new StoppedError();
  }
}

/** The table of a node that awaits its grid's: epoch 0 (older than any real one), no replica anywhere. */
function unplacedTable(partitions: number): PartitionTable {
  return {
    epoch: 0,
    partitions: Array.from({ length: partitions }, () => ({ voters: [], learners: [], leader: '' })),
  };
}

/** Whether a long poll's answers say anything: events, a compaction, or a partition not held here. */
function hasNews(answers: readonly FeedAnswer[]): boolean {
  return answers.some((answer) => !('events' in answer) || answer.events.length > 0);
}

const RESET: ChangeEvent = {
  type: 'reset',
  map: '',
  key: '',
  value: undefined,
  previous: undefined,
  revision: 0,
};

/** Encodes, turning msgpackr's complaint about a value it cannot encode into a clear argument error. */
function encodable(logged: LoggedCommand): Uint8Array {
  try {
    return encodeCommand(logged);
  } catch (error) {
    throw new InvalidArgumentError(`the value cannot be encoded: ${(error as Error).message}`);
  }
}
