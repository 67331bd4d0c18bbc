import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ImdgoRuntime } from './imdgo-runtime.ts';
import { gridNotReadyReason, notReadyReason } from './readiness.ts';

/** Kubernetes' default probe timeout is 1 s: the catch-up check answers within it. */
const CATCH_UP_CHECK_MS = 800;

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
      return session.up({ nodeId: status.nodeId, role: status.role, ...this.lossDetail() });
    } catch {
      return session.down({ reason: 'stopped' });
    }
  }

  /**
   * Up when this node is a voter again, caught up: it holds a voter seat as this very process, a leader is
   * known, and it has applied everything the leader had committed when asked just now (a ReadIndex round).
   * So a rolling restart that waits for readiness between members never takes a second voter seat down
   * while the first is still rejoining.
   */
  async isReady<const Key extends string = 'imdgo'>(
    key: Key = 'imdgo' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const session = this.health.check(key);
    let node;
    let status;
    try {
      node = this.runtime.node;
      status = node.localStatus();
    } catch {
      return session.down({ reason: 'stopped' });
    }
    const details = {
      nodeId: status.nodeId,
      role: status.role,
      leader: status.leader,
      term: status.term,
      ...this.lossDetail(),
    };
    const grid = this.runtime.grid;
    const reason = grid
      ? await gridNotReadyReason(grid, CATCH_UP_CHECK_MS)
      : await notReadyReason(node, CATCH_UP_CHECK_MS);
    return reason === null ? session.up(details) : session.down({ ...details, reason });
  }

  private lossDetail(): { dataLoss?: string; discovery?: 'probing' | 'joining' } {
    const node = this.runtime.node;
    const loss = node.dataLoss();
    const phase = node.discoveryPhase();
    return { ...(loss === null ? {} : { dataLoss: loss }), ...(phase === null ? {} : { discovery: phase }) };
  }
}
