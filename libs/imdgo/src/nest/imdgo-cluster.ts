import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { ClusterStatus } from '../driver/cluster-status.ts';
import type { SoftState } from '../raft/types.ts';
import { ImdgoRuntime } from './imdgo-runtime.ts';

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

  /** This node's view, synchronously: complete only on the leader. */
  localStatus(): ClusterStatus {
    return this.runtime.node.localStatus();
  }

  /** Moves leadership to `target` (default: the most caught-up follower); resolves with the new leader. */
  async transferLeadership(target?: string): Promise<{ leader: string }> {
    return { leader: await this.runtime.node.transferLeadership(target ?? null) };
  }

  get roleChanges$(): Observable<SoftState> {
    return this.runtime.roleChanges$;
  }
}
