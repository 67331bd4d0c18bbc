import { Logger } from '@nestjs/common';
import type { RaftNode } from '../../driver/raft-node.ts';
import type { Scheduler } from '../../driver/scheduler.ts';
import type { NodeId } from '../../raft/types.ts';
import type { GridMeta } from '../../state-machine/grid-meta.ts';

/**
 * Hands each partition group this node leads to the table's preferred leader when that one is a live voter
 * of the group: after a failover, leaderships return to where placement balanced them. At most one hand-over
 * per group per `backoffMs`.
 */
export class LeadershipNudger {
  private readonly self: NodeId;
  private readonly scheduler: Scheduler;
  private readonly backoffMs: number;
  private readonly logger: Logger;
  private readonly lastTransfer = new Map<number, number>();

  constructor(self: NodeId, scheduler: Scheduler, backoffMs: number) {
    this.self = self;
    this.scheduler = scheduler;
    this.backoffMs = backoffMs;
    this.logger = new Logger(`LeadershipNudger ${self}`);
  }

  nudge(meta: GridMeta, replicaOf: (partition: number) => RaftNode | undefined): void {
    const table = meta.table;
    if (table === null) return;
    const now = this.scheduler.monotonic();
    table.partitions.forEach(({ leader: preferred }, partition) => {
      const node = replicaOf(partition);
      if (!node?.isLeader() || preferred === this.self) return;
      const member = meta.member(preferred);
      if (member === undefined || member.deadSince !== null) return;
      if (now - (this.lastTransfer.get(partition) ?? Number.NEGATIVE_INFINITY) < this.backoffMs) return;
      if (!node.localStatus().members.some((m) => m.id === preferred && m.voter)) return;
      this.lastTransfer.set(partition, now);
      node
        .transferLeadership(preferred)
        .catch((error: Error) =>
          this.logger.debug(`partition ${partition} to ${preferred}: ${error.message}`),
        );
    });
  }
}
