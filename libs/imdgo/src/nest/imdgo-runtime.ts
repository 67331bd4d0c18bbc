import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { randomInt, randomUUID } from 'node:crypto';
import { FileStorage } from '../storage/file-storage.ts';
import { persistentIncarnation } from '../storage/incarnation-file.ts';
import { Observable, Subject } from 'rxjs';
import { MemoryStorage } from '../storage/memory-storage.ts';
import { RaftNode } from '../driver/raft-node.ts';
import { StoppedError } from '../errors.ts';
import { SeededRandom } from '../raft/random.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import type { SoftState } from '../raft/types.ts';
import { NO_OBSERVER, type NodeObserver } from '../driver/node-observer.ts';
import { FaultInjectingTransport } from '../transport/fault-injecting-transport.ts';
import { NestTcpTransport } from '../transport/nest-tcp-transport.ts';
import { ChangeFeed } from './change-feed.ts';
import { IMDGO_MODULE_OPTIONS } from './imdgo.module-definition.ts';
import { validateImdgoOptions, type ImdgoModuleOptions, type ResolvedImdgoOptions } from './imdgo-options.ts';
import { hostOf, resolveNodeId } from './node-identity.ts';

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
  private readonly roleSubject = new Subject<SoftState>();
  private observer: NodeObserver = NO_OBSERVER;
  /** The link cutter, when the faultInjection option is on. */
  faults: FaultInjectingTransport | null = null;
  /** Subscriptions to change streams, for the watch-subscribers metric. */
  watchers = 0;

  constructor(@Inject(IMDGO_MODULE_OPTIONS) rawOptions: ImdgoModuleOptions) {
    // Fails module creation, before anything listens, naming the bad field.
    this.options = validateImdgoOptions(stripModuleExtras(rawOptions));
    this.feed = new ChangeFeed(this.options.watchHistorySize);
  }

  /** Every applied change, on every node, in log order; a `reset` event where the state jumped. */
  get changes$(): Observable<ChangeEvent> {
    return this.counted(this.feed.live$);
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

  /** Replays retained events from `fromRevision`, then follows live ones, with no gap between the two. */
  changesFrom(fromRevision: number): Observable<ChangeEvent> {
    return this.counted(this.feed.from(fromRevision));
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
    const id = await resolveNodeId(options.members, options.nodeId);
    const tcp = new NestTcpTransport({
      id,
      host: options.bindHost ?? hostOf(id),
      tls: options.tls ?? undefined,
      clusterSecret: options.clusterSecret ?? undefined,
    });
    const transport = options.faultInjection ? new FaultInjectingTransport(tcp) : tcp;
    this.faults = transport instanceof FaultInjectingTransport ? transport : null;
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
    await this.raftNode.start();
    this.logger.log(`${id} started; members ${options.members.join(', ')}`);
  }

  async onModuleDestroy(): Promise<void> {
    const node = this.raftNode;
    this.raftNode = null;
    await node?.stop();
    this.feed.complete();
    this.roleSubject.complete();
  }
}

/** ConfigurableModuleBuilder passes its extras (isGlobal) along with the options. */
function stripModuleExtras(options: ImdgoModuleOptions & { isGlobal?: boolean }): ImdgoModuleOptions {
  const { isGlobal: _isGlobal, ...rest } = options;
  return rest;
}
