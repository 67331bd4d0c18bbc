import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { randomInt, randomUUID } from 'node:crypto';
import { FileStorage } from '../storage/file-storage.ts';
import { persistentIncarnation } from '../storage/incarnation-file.ts';
import { Observable, Subject } from 'rxjs';
import { MemoryStorage } from '../storage/memory-storage.ts';
import { RaftNode } from '../driver/raft-node.ts';
import { InvalidArgumentError, StoppedError } from '../errors.ts';
import { GridNode, type GridCursor } from '../grid/index.ts';
import { join } from 'node:path';
import { SeededRandom } from '../raft/random.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import type { SoftState } from '../raft/types.ts';
import { NO_OBSERVER, type NodeObserver } from '../driver/node-observer.ts';
import { FaultInjectingTransport } from '../transport/fault-injecting-transport.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import { NestTcpTransport } from '../transport/nest-tcp-transport.ts';
import { ChangeFeed } from './change-feed.ts';
import { IMDGO_MODULE_OPTIONS } from './imdgo.module-definition.ts';
import {
  ImdgoOptionsError,
  validateImdgoOptions,
  type ImdgoModuleOptions,
  type ResolvedImdgoOptions,
} from './imdgo-options.ts';
import type { KeyValueBackend } from './key-value-backend.ts';
import { hostOf, resolveNodeId } from './node-identity.ts';
import { peerListenError } from './peer-listen-error.ts';
import { GridBackend } from './grid-backend.ts';
import { SingleGroupBackend } from './single-group-backend.ts';
import { unreachableMembers } from './unreachable-members.ts';

/** Election timeouts after start at which members that still do not answer are named in a warning. */
const UNREACHABLE_WARNING_ELECTIONS = 20;

/**
 * The running node behind the injectable API: validates the options, starts the peer transport and the
 * Raft driver when the module initializes, and stops both when the application closes.
 */
@Injectable()
export class ImdgoRuntime implements OnModuleInit, OnModuleDestroy {
  readonly options: ResolvedImdgoOptions;
  private readonly logger = new Logger('imdgo');
  private readonly feed: ChangeFeed;
  private raftNode: RaftNode | null = null;
  private gridNode: GridNode | null = null;
  private keyValues: KeyValueBackend | null = null;
  private readonly roleSubject = new Subject<SoftState>();
  private observer: NodeObserver = NO_OBSERVER;
  /** The link cutter, when the faultInjection option is on. */
  faults: FaultInjectingTransport | null = null;
  /** Subscriptions to change streams, for the watch-subscribers metric. */
  watchers = 0;
  private readonly moduleRef: ModuleRef;
  private unreachableCheck: NodeJS.Timeout | null = null;

  constructor(@Inject(IMDGO_MODULE_OPTIONS) rawOptions: ImdgoModuleOptions, moduleRef: ModuleRef) {
    this.moduleRef = moduleRef;
    // Fails module creation, before anything listens, naming the bad field.
    this.options = validateImdgoOptions(stripModuleExtras(rawOptions));
    this.feed = new ChangeFeed(this.options.watchHistorySize);
  }

  /**
   * Every applied change, on every node, in log order; a `reset` event where the state jumped. With
   * `partitions` > 1: every partition's changes, each event naming its `partition`, in order per partition
   * (so per key), in no order across partitions.
   */
  get changes$(): Observable<ChangeEvent> {
    return this.counted(this.gridNode ? this.gridNode.changes$ : this.feed.live$);
  }

  /** Role, term and leader of this node, each time one of them changes. */
  get roleChanges$(): Observable<SoftState> {
    return this.roleSubject.asObservable();
  }

  /** Set before the node starts (by ImdgoMetrics); the driver reports to it. */
  observe(observer: NodeObserver): void {
    this.observer = observer;
  }

  get node(): RaftNode {
    if (!this.raftNode) throw new StoppedError();
    return this.raftNode;
  }

  /** Where keys live: every ImdgoMap operation goes through it. */
  get backend(): KeyValueBackend {
    if (!this.keyValues) throw new StoppedError();
    return this.keyValues;
  }

  /** The group that holds locks, lock sessions and elections (for `partitions: 1`, the one group). */
  get coordination(): RaftNode {
    return this.node;
  }

  /** Changes applied by the coordination group: lock sessions, locks and elections watch these. */
  get coordinationChanges$(): Observable<ChangeEvent> {
    return this.gridNode ? this.counted(this.feed.live$) : this.changes$;
  }

  /** The grid, with `partitions` > 1 (null for one partition, and once stopped). */
  get grid(): GridNode | null {
    return this.gridNode;
  }

  /**
   * Replays retained events from `from`, then follows live ones, with no gap between the two: a revision
   * for `partitions: 1`, a grid cursor (every partition's revision already seen) otherwise.
   */
  changesFrom(from: number | GridCursor): Observable<ChangeEvent> {
    if (this.gridNode) {
      if (typeof from !== 'string')
        throw new InvalidArgumentError(
          `with partitions > 1 a watch resumes from a change cursor (a string from an event), got ${String(from)}`,
        );
      return this.counted(this.gridNode.changesFrom(from));
    }
    if (typeof from !== 'number')
      throw new InvalidArgumentError(
        `with one partition a watch resumes from a revision, got ${String(from)}`,
      );
    return this.counted(this.feed.from(from));
  }

  private counted(source: Observable<ChangeEvent>): Observable<ChangeEvent> {
    return new Observable<ChangeEvent>((subscriber) => {
      this.watchers++;
      const subscription = source.subscribe(subscriber);
      return () => {
        this.watchers--;
        subscription.unsubscribe();
      };
    });
  }

  async onModuleInit(): Promise<void> {
    const options = this.options;
    const runtimes = this.moduleRef.get(ImdgoRuntime, { strict: false, each: true }).length;
    if (runtimes > 1) {
      throw new ImdgoOptionsError(
        `ImdgoModule.forRoot (or forRootAsync) is imported ${runtimes} times in this application, which would ` +
          `start ${runtimes} nodes: import it once, in the root module (it is global), and inject ImdgoStore anywhere`,
      );
    }
    const id = await resolveNodeId(options.members, options.nodeId);
    if (!options.members.includes(id)) {
      this.logger.warn(
        `nodeId ${id} is not among members (${options.members.join(', ')}): it will ask them to admit it as a ` +
          `new member; if it is meant to be one of them, correct nodeId or members`,
      );
    }
    const tcp = new NestTcpTransport({
      id,
      host: options.bindHost ?? hostOf(id),
      tls: options.tls ?? undefined,
      clusterSecret: options.clusterSecret ?? undefined,
    });
    const transport = options.faultInjection ? new FaultInjectingTransport(tcp) : tcp;
    this.faults = transport instanceof FaultInjectingTransport ? transport : null;
    if (options.partitions > 1) return this.startGrid(id, transport);
    const storage = options.dataDir ? new FileStorage({ dir: options.dataDir }) : new MemoryStorage();
    this.raftNode = new RaftNode({
      id,
      members: options.members,
      incarnation: options.dataDir ? await persistentIncarnation(options.dataDir) : randomUUID(),
      snapshotThreshold: options.snapshotThreshold,
      storeLimit:
        options.maxStoreBytes === null
          ? null
          : { maxBytes: options.maxStoreBytes, evictTtl: options.memoryPolicy === 'evict-ttl' },
      maxPendingWrites: options.maxPendingWrites,
      transport,
      storage,
      tickMs: options.tickMs,
      electionTicks: options.electionTicks,
      heartbeatTicks: options.heartbeatTicks,
      requestTimeoutMs: options.requestTimeoutMs,
      random: new SeededRandom(options.randomSeed ?? randomInt(2 ** 31)),
      onChange: (change) => this.feed.publish(change),
      onReset: (revision) => this.feed.reset(revision),
      onRoleChange: (state) => {
        this.logger.log(`${id}: ${state.role} in term ${state.term}, leader ${state.leader ?? 'unknown'}`);
        this.roleSubject.next(state);
      },
      observer: this.observer,
    });
    this.keyValues = new SingleGroupBackend(this.raftNode);
    try {
      await this.raftNode.start();
    } catch (error) {
      // Releases whatever started (storage, a listening port) before the error fails the bootstrap.
      await this.onModuleDestroy();
      throw peerListenError(error, id, options.bindHost) ?? error;
    }
    this.logger.log(`${id} started; members ${options.members.join(', ')}`);
    this.warnOfUnreachableMembers(transport, id);
  }

  /** `partitions` > 1: a GridNode hosting this node's partition groups and the coordination group. */
  private async startGrid(id: string, transport: PeerTransport): Promise<void> {
    const options = this.options;
    if (!options.members.includes(id)) {
      throw new ImdgoOptionsError(
        `nodeId ${id} is not among members (${options.members.join(', ')}): with partitions > 1 every node ` +
          `must be one of the members the grid forms with`,
      );
    }
    const dataDir = options.dataDir;
    const grid = new GridNode({
      id,
      members: options.members,
      partitions: options.partitions,
      replicas: options.replicas,
      transport,
      random: new SeededRandom(options.randomSeed ?? randomInt(2 ** 31)),
      // One directory per group: group 0 is the coordination group, partition p is group p + 1.
      storageFor: (group) =>
        dataDir ? new FileStorage({ dir: join(dataDir, `group-${group}`) }) : new MemoryStorage(),
      incarnation: dataDir ? await persistentIncarnation(dataDir) : randomUUID(),
      group: {
        tickMs: options.tickMs,
        electionTicks: options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        requestTimeoutMs: options.requestTimeoutMs,
        snapshotThreshold: options.snapshotThreshold,
        storeLimit:
          options.maxStoreBytes === null
            ? null
            : { maxBytes: options.maxStoreBytes, evictTtl: options.memoryPolicy === 'evict-ttl' },
        maxPendingWrites: options.maxPendingWrites,
      },
      historySize: partitionHistory(options.watchHistorySize, options.partitions),
      observer: this.observer,
      onCoordinationChange: (change) => this.feed.publish(change),
      onCoordinationReset: (revision) => this.feed.reset(revision),
      onCoordinationRoleChange: (state) => {
        this.logger.log(
          `${id}: coordination ${state.role} in term ${state.term}, leader ${state.leader ?? 'unknown'}`,
        );
        this.roleSubject.next(state);
      },
    });
    this.gridNode = grid;
    this.keyValues = new GridBackend(grid);
    try {
      await grid.start();
    } catch (error) {
      await this.onModuleDestroy();
      throw peerListenError(error, id, options.bindHost) ?? error;
    }
    this.raftNode = grid.coordination;
    this.logger.log(
      `${id} started; members ${options.members.join(', ')}; ${options.partitions} partitions, ` +
        `${options.replicas} replicas each`,
    );
    this.warnOfUnreachableMembers(transport, id);
  }

  /** Once, a while after start: members this node still cannot reach are most often a wrong address. */
  private warnOfUnreachableMembers(transport: PeerTransport, id: string): void {
    const electionMs = this.options.electionTicks * this.options.tickMs;
    const afterMs = UNREACHABLE_WARNING_ELECTIONS * electionMs;
    this.unreachableCheck = setTimeout(async () => {
      this.unreachableCheck = null;
      const unreachable = await unreachableMembers(
        transport,
        id,
        this.options.members,
        // As long as any request may take: a loaded member is slow, not unreachable.
        this.options.requestTimeoutMs,
      );
      if (this.raftNode === null && this.gridNode === null) return;
      if (unreachable.length === 0) return this.logger.debug(`${id} reaches every member`);
      this.logger.warn(
        `${id} cannot reach ${unreachable.join(', ')} ${afterMs} ms after it started: check that they run, ` +
          `that members gives their host:port, that the peer port is open between them, and that they ` +
          `share the same tls and clusterSecret`,
      );
    }, afterMs);
    this.unreachableCheck.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.unreachableCheck) clearTimeout(this.unreachableCheck);
    const node = this.raftNode;
    const grid = this.gridNode;
    this.raftNode = null;
    this.gridNode = null;
    this.keyValues = null;
    // The grid stops every group it hosts, the coordination group's node included.
    if (grid) await grid.stop();
    else await node?.stop();
    this.feed.complete();
    this.roleSubject.complete();
  }
}

/** ConfigurableModuleBuilder passes its extras (isGlobal) along with the options. */
function stripModuleExtras(options: ImdgoModuleOptions & { isGlobal?: boolean }): ImdgoModuleOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ImdgoOptionsError(
      `imdgo options are ${String(options)}: a forRootAsync useFactory must return the options object ({ members, ... })`,
    );
  }
  const { isGlobal: _isGlobal, ...rest } = options;
  return rest;
}

/** Change events a replica keeps per partition: nodes without a replica follow the partition from them. */
export const MIN_PARTITION_HISTORY = 1_000;

/** `watchHistorySize` split over the partitions, but never below what following a partition needs. */
export function partitionHistory(watchHistorySize: number, partitions: number): number {
  return Math.max(MIN_PARTITION_HISTORY, Math.ceil(watchHistorySize / partitions));
}
