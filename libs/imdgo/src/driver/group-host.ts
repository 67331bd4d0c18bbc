import type { PeerTransport } from '../transport/peer-transport.ts';
import { assertGroupId, GroupMux, type GroupMuxStats } from '../transport/group-mux.ts';
import { RaftNode, type RaftNodeOptions } from './raft-node.ts';
import { systemScheduler, type Scheduler, type TimerHandle } from './scheduler.ts';
import { SharedTicker } from './shared-ticker.ts';

/** What a group's node is built with; the host supplies its transport and scheduler. */
export type GroupNodeOptions = Omit<RaftNodeOptions, 'transport' | 'scheduler'>;

export interface GroupHostOptions {
  /** The node's one transport to its peers, shared by every group. */
  readonly transport: PeerTransport;
  /** Clocks and timers; the simulator passes virtual ones. */
  readonly scheduler?: Scheduler;
  /** Let idle groups go quiet (raft/quiescence.ts); default true. */
  readonly quiesce?: boolean;
  /** How often every peer hears at least an empty frame from this node (ms); default 100. */
  readonly beatMs?: number;
  /**
   * Silence (ms) after which a peer is reported unreachable to every group, waking the quiet ones it leads
   * or follows; default 1000. A grid passes its heartbeat interval and election timeout.
   */
  readonly peerTimeoutMs?: number;
}

/**
 * The Raft groups of one node: each a RaftNode of its own (own core, log, state machine and storage) on a
 * channel of one GroupMux, so every group's traffic shares the node's connections and frames, and on one
 * SharedTicker, so every group ticks in the same turn. Group 0 alone behaves exactly as a lone RaftNode.
 */
export class GroupHost {
  private readonly mux: GroupMux;
  private readonly ticker: SharedTicker;
  private readonly nodes = new Map<number, RaftNode>();
  /** Groups being created or destroyed: their id is taken until that finishes. */
  private readonly busy = new Set<number>();
  private readonly options: GroupHostOptions;
  private beatTimer: TimerHandle | null = null;
  private started = false;
  private stopped = false;

  constructor(options: GroupHostOptions) {
    const beatMs = options.beatMs ?? 100;
    const peerTimeoutMs = options.peerTimeoutMs ?? 1000;
    if (!(beatMs > 0) || !(peerTimeoutMs > beatMs)) {
      throw new Error(`peerTimeoutMs (${peerTimeoutMs}) must exceed beatMs (${beatMs}), which must be > 0`);
    }
    this.options = options;
    const scheduler = options.scheduler ?? systemScheduler;
    this.ticker = new SharedTicker(scheduler);
    this.mux = new GroupMux(options.transport, scheduler);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('the group host is already started');
    this.started = true;
    await this.mux.start();
    const peerTimeoutMs = this.options.peerTimeoutMs ?? 1000;
    this.beatTimer = this.ticker.setInterval(() => this.mux.beat(peerTimeoutMs), this.options.beatMs ?? 100);
  }

  /** Stops every group, then the transport. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.beatTimer) this.ticker.clearInterval(this.beatTimer);
    await Promise.all([...this.nodes.values()].map((node) => node.stop()));
    this.nodes.clear();
    await this.mux.stop();
  }

  /** Starts group `group` on this node; refused while the id is in use. */
  async createGroup(group: number, options: GroupNodeOptions): Promise<RaftNode> {
    assertGroupId(group);
    if (this.stopped) throw new Error('the group host is stopped');
    if (this.nodes.has(group) || this.busy.has(group)) throw new Error(`group ${group} already exists here`);
    this.busy.add(group);
    const channel = this.mux.channel(group);
    try {
      const node = new RaftNode({
        ...options,
        raftTuning: { quiesce: this.options.quiesce ?? true, ...options.raftTuning },
        transport: channel,
        scheduler: this.ticker,
      });
      await node.start();
      this.nodes.set(group, node);
      return node;
    } catch (error) {
      await channel.stop();
      throw error;
    } finally {
      this.busy.delete(group);
    }
  }

  /** Stops group `group` here and releases its id; messages for it are refused from now on. */
  async destroyGroup(group: number): Promise<void> {
    const node = this.nodes.get(group);
    if (!node) throw new Error(`group ${group} does not exist here`);
    this.nodes.delete(group);
    this.busy.add(group);
    try {
      await node.stop();
    } finally {
      this.busy.delete(group);
    }
  }

  /**
   * A channel of the host's mux that is not a Raft group: a layer above (the grid's router) exchanges its
   * own requests on it, over the same connections. Its id must not be a group's.
   */
  serviceChannel(id: number): PeerTransport {
    if (this.nodes.has(id) || this.busy.has(id)) throw new Error(`group ${id} already exists here`);
    return this.mux.channel(id);
  }

  group(group: number): RaftNode | undefined {
    return this.nodes.get(group);
  }

  get groups(): number[] {
    return [...this.nodes.keys()];
  }

  /** Tells every group that `id` lost its process (a memory-mode restart): quiet groups it led wake up. */
  peerLost(id: string): void {
    this.mux.reportPeerLost(id);
  }

  /** Frames and messages sent, and messages refused for groups not hosted here. */
  transportStats(): GroupMuxStats {
    return this.mux.counters();
  }
}
