import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ImdgoRuntime } from './imdgo-runtime.ts';

/** How far behind the commit index a node may apply and still count as ready. */
const READY_APPLY_LAG = 1000;

/** Terminus health indicators for a node: `isHealthy` for liveness, `isReady` for readiness. */
@Injectable()
export class ImdgoHealthIndicator {
  private readonly runtime: ImdgoRuntime;
  // Terminus' helper needs no injection; owning one keeps TerminusModule out of ImdgoModule's imports.
  private readonly health = new HealthIndicatorService();

  constructor(runtime: ImdgoRuntime) {
    this.runtime = runtime;
  }

  /** Up while the node runs (it may be in an election or cut off: that is not a reason to restart it). */
  isHealthy<const Key extends string = 'imdgo'>(key: Key = 'imdgo' as Key): HealthIndicatorResult<Key> {
    const session = this.health.check(key);
    try {
      const status = this.runtime.node.localStatus();
      return session.up({ nodeId: status.nodeId, role: status.role });
    } catch {
      return session.down({ reason: 'stopped' });
    }
  }

  /** Up when a leader is known and this node has applied close to its commit index. */
  isReady<const Key extends string = 'imdgo'>(key: Key = 'imdgo' as Key): HealthIndicatorResult<Key> {
    const session = this.health.check(key);
    let status;
    try {
      status = this.runtime.node.localStatus();
    } catch {
      return session.down({ reason: 'stopped' });
    }
    const details = { nodeId: status.nodeId, role: status.role, leader: status.leader, term: status.term };
    if (status.leader === null) return session.down({ ...details, reason: 'no leader known' });
    if (status.commitIndex - status.appliedIndex > READY_APPLY_LAG) {
      return session.down({
        ...details,
        reason: `applying: ${status.appliedIndex} of ${status.commitIndex}`,
      });
    }
    return session.up(details);
  }
}
