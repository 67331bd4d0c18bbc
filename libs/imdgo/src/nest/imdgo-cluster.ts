import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { ClusterStatus } from '../driver/cluster-status.ts';
import type { GridPartitionStatus } from '../grid/index.ts';
import type { SoftState } from '../raft/types.ts';
import { InvalidArgumentError, RequestTimeoutError } from '../errors.ts';
import { normalizeMemberId } from './imdgo-options.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';

/** The partition table as one node sees it (ImdgoCluster.partitions). */
export interface PartitionsReport {
  readonly nodeId: string;
  /** The table's epoch: it grows with every change of placement. */
  readonly epoch: number;
  readonly replicas: number;
  readonly partitions: readonly GridPartitionStatus[];
  readonly local: {
    readonly led: number;
    /** Partitions this node holds a replica of without leading them. */
    readonly followed: number;
    /** Calls this node routed to a replica elsewhere (it holds none of their partition). */
    readonly forwardedCalls: number;
    /** Calls other nodes routed to this node's replicas. */
    readonly servedCalls: number;
    /** Newer tables adopted from a peer's redirect. */
    readonly redirects: number;
  };
}

/** Cluster administration: who leads, how far each member is, and handing leadership over. */
@Injectable()
export class ImdgoCluster {
  private readonly runtime: ImdgoRuntime;

  constructor(runtime: ImdgoRuntime) {
    this.runtime = runtime;
  }

  /** The leader's view (every member's match index and lag); this node's own view if no leader answers. */
  status(): Promise<ClusterStatus> {
    return this.runtime.node.clusterStatus();
  }

  /**
   * With `partitions` > 1: the partition table this node routes by (its epoch; per partition the replicas,
   * the preferred and the known leader, the lag where this node leads it, this node's role) and this node's
   * share (partitions led and followed, calls forwarded to other nodes and served for them). Null with one
   * partition. `status()` and the other methods of this class then concern the coordination group.
   */
  partitions(): PartitionsReport | null {
    const grid = this.runtime.grid;
    if (!grid) return null;
    const partitions = grid.status();
    const stats = grid.stats();
    return {
      nodeId: grid.id,
      epoch: grid.table().epoch,
      replicas: this.runtime.options.replicas,
      partitions,
      local: {
        led: partitions.filter((p) => p.role === 'leader').length,
        followed: partitions.filter((p) => p.role !== null && p.role !== 'leader').length,
        forwardedCalls: stats.routedOps,
        servedCalls: stats.servedOps,
        redirects: stats.redirects,
      },
    };
  }

  /** This node's view, synchronously: complete only on the leader. */
  localStatus(): ClusterStatus {
    return this.runtime.node.localStatus();
  }

  /** Moves leadership to `target` (default: the most caught-up follower); resolves with the new leader. */
  async transferLeadership(target?: string): Promise<{ leader: string }> {
    return { leader: await this.runtime.node.transferLeadership(target ?? null) };
  }

  /**
   * Adds a voting member: first as a learner, promoted once it holds everything committed, so the majority
   * never depends on a member that is still catching up. The new node itself is started with `members`
   * naming this cluster (it then joins on its own; this call is for members started without that).
   */
  async addMember(id: string): Promise<void> {
    this.refusePartitioned('addMember');
    const member = normalizeMemberId(id);
    await this.addLearner(member);
    const node = this.runtime.node;
    const waitMs = this.runtime.options.requestTimeoutMs * 6;
    // Monotonic: a wall clock stepped back must not stretch the wait, nor one stepped forward end it.
    const deadline = performance.now() + waitMs;
    while (!(await node.isCaughtUp(member))) {
      if (performance.now() > deadline) throw new RequestTimeoutError(`catching up ${member}`, waitMs);
      await new Promise((resolve) => setTimeout(resolve, this.runtime.options.tickMs));
    }
    await this.promote(member);
  }

  /** Adds a non-voting member: it receives the log but never counts toward a majority. */
  async addLearner(id: string): Promise<void> {
    this.refusePartitioned('addLearner');
    return this.runtime.node.changeMembership({ type: 'add-learner', id: normalizeMemberId(id) });
  }

  async promote(id: string): Promise<void> {
    this.refusePartitioned('promote');
    return this.runtime.node.changeMembership({ type: 'promote', id: normalizeMemberId(id) });
  }

  /** Removes a member; removing the leader first hands leadership to another voter. */
  async removeMember(id: string): Promise<void> {
    this.refusePartitioned('removeMember');
    const member = normalizeMemberId(id);
    const node = this.runtime.node;
    if ((await node.clusterStatus()).leader === member) await node.transferLeadership(null);
    await node.changeMembership({ type: 'remove', id: member });
  }

  /**
   * UNSAFE recovery when a majority of the voters lost their memory and the cluster can never commit again
   * (etcd's --force-new-cluster, Consul's peers.json): this node becomes the only voter of a new
   * configuration, keeping what it holds, and the other members rejoin it as new members. Writes that the
   * lost members acknowledged but this node never received are gone. Every other member of the old
   * configuration must be stopped or restarted without state first, or two clusters could diverge.
   * Refused while a leader is known, or on a node that holds no data.
   */
  async forceNewCluster(): Promise<ClusterStatus> {
    this.refusePartitioned('forceNewCluster');
    await this.runtime.node.forceNewCluster();
    return this.runtime.node.localStatus();
  }

  /**
   * With partitions, a membership change must move partition replicas too (the placement loop's work);
   * changing only the coordination group would leave the partitions on the old members.
   */
  private refusePartitioned(call: string): void {
    if (!this.runtime.grid) return;
    throw new InvalidArgumentError(
      `${call} is not available with partitions > 1 yet: the members of a partitioned cluster are fixed when it forms`,
    );
  }

  get roleChanges$(): Observable<SoftState> {
    return this.runtime.roleChanges$;
  }
}
