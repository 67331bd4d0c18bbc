import { Logger } from '@nestjs/common';
import type { GroupHost, GroupNodeOptions } from '../../driver/group-host.ts';
import type { Scheduler } from '../../driver/scheduler.ts';
import type { NodeId } from '../../raft/types.ts';
import type { GridMeta } from '../../state-machine/grid-meta.ts';
import { groupOfPartition } from './group-handle.ts';
import { LeadershipNudger } from './leadership-nudger.ts';

export interface ReplicaHostingOptions {
  readonly self: NodeId;
  /** This process: it hosts replicas only once the metadata knows it as this incarnation. */
  readonly incarnation: string;
  readonly host: GroupHost;
  /** The metadata as applied on this node (its coordination group replica). */
  readonly meta: () => GridMeta;
  /** Options for a new replica of `partition` whose group's replicas are `members` (for discovery). */
  readonly groupOptions: (partition: number, members: readonly NodeId[]) => GroupNodeOptions;
  readonly scheduler: Scheduler;
  /** Least time between two leadership hand-overs of one group (ms). */
  readonly transferBackoffMs: number;
}

/**
 * A node's side of placement: it hosts exactly the partition groups the table lists it in (as voter or
 * learner), creating a replica when an add-learner for it is recorded (the replica joins the group with this
 * incarnation, catching up from the log or a snapshot) and destroying it once its removal is recorded (the
 * table records a removal only after the group committed it). A lost incarnation's listings are not its own.
 * It also hands each group it leads to the table's preferred leader, which balances leaderships.
 */
export class ReplicaHosting {
  private readonly options: ReplicaHostingOptions;
  private readonly logger: Logger;
  private readonly pending = new Set<number>();
  private readonly leaderships: LeadershipNudger;
  /** Each member's incarnation as last seen here. */
  private readonly incarnations = new Map<NodeId, string>();

  constructor(options: ReplicaHostingOptions) {
    this.options = options;
    this.logger = new Logger(`ReplicaHosting ${options.self}`);
    this.leaderships = new LeadershipNudger(options.self, options.scheduler, options.transferBackoffMs);
  }

  /** Brings the hosted groups in line with the table; call on every table change and now and then. */
  reconcile(): void {
    const { self, incarnation, host } = this.options;
    const meta = this.options.meta();
    const table = meta.table;
    if (table === null) return;
    this.noticeRestarts(meta);
    const me = meta.member(self);
    const mine = me !== undefined && me.incarnation === incarnation && !me.staleReplicas;
    const wanted = new Set<number>();
    table.partitions.forEach(({ voters, learners }, partition) => {
      if (mine && (voters.includes(self) || learners.includes(self))) wanted.add(groupOfPartition(partition));
    });
    for (const group of host.groups) {
      if (group === 0 || wanted.has(group) || this.pending.has(group)) continue;
      this.pending.add(group);
      host
        .destroyGroup(group)
        .catch((error: Error) => this.logger.warn(`destroying group ${group}: ${error.message}`))
        .finally(() => this.pending.delete(group));
    }
    for (const group of wanted) {
      if (host.group(group) || this.pending.has(group)) continue;
      const partition = group - 1;
      const { voters } = table.partitions[partition]!;
      this.pending.add(group);
      host
        .createGroup(group, this.options.groupOptions(partition, voters))
        .catch((error: Error) => this.logger.warn(`creating group ${group}: ${error.message}`))
        .finally(() => this.pending.delete(group));
    }
    this.leaderships.nudge(meta, (partition) => host.group(groupOfPartition(partition)));
  }

  /**
   * A member that came back as a new incarnation lost the groups it held; under the same address its new
   * process keeps the node pair alive, so groups gone quiet under it as leader would never notice: they are
   * told it is gone, and elect.
   */
  private noticeRestarts(meta: GridMeta): void {
    for (const { id, incarnation } of meta.memberList()) {
      const known = this.incarnations.get(id);
      this.incarnations.set(id, incarnation);
      if (known !== undefined && known !== incarnation && id !== this.options.self)
        this.options.host.peerLost(id);
    }
  }
}
