import type { GridNode } from '../../src/grid/grid-node.ts';
import type { GridNodeOptions } from '../../src/grid/grid-types.ts';
import { GridPlacement } from '../../src/grid/placement/grid-placement.ts';
import { GRID_TUNING, GridCluster, type GridClusterOptions } from './grid-cluster.ts';

/** Placement timing in the simulator: a dead member is replaced after 5 s of virtual time. */
export const PLACEMENT_TIMING = {
  requestTimeoutMs: 2_000,
  pollMs: GRID_TUNING.tickMs,
  deadMemberTimeoutMs: 5_000,
  failureDetectionMs: 2_000,
  moveTimeoutMs: 20_000,
};

/**
 * A GridCluster whose nodes run the production GridPlacement: each node awaits the table its coordination
 * group records, and placement starts on each node (and each restart) once its coordination group runs.
 */
export class PlacedGrid {
  readonly cluster: GridCluster;
  readonly placements = new Map<string, GridPlacement>();
  private readonly replicas: number;

  constructor(options: GridClusterOptions & { readonly replicas: number }) {
    this.replicas = options.replicas;
    this.cluster = new GridCluster({
      ...options,
      extra: (id) => ({
        ...options.extra?.(id),
        awaitTable: true,
        onCoordinationChange: (change) => this.placements.get(id)?.onCoordinationChange(change),
      }),
    });
  }

  /** Starts (or restarts) `id` and its placement; `members` as in GridCluster.start. */
  start(id: string, members?: readonly string[]): GridNode {
    this.placements.get(id)?.stop();
    const node = this.cluster.start(id, members);
    // The node's own process identity, which its groups (and so placement's learners) are seated as.
    const { incarnation, transport, scheduler } = (node as unknown as { options: GridNodeOptions }).options;
    const placement = new GridPlacement({
      incarnation,
      transport,
      scheduler: scheduler!,
      replicas: this.replicas,
      ...PLACEMENT_TIMING,
    });
    this.placements.set(id, placement);
    const begin = (): void => {
      if (this.cluster.nodes.get(id) !== node) return;
      if (coordinated(node)) void placement.start(node).catch(() => {});
      else this.cluster.processes.get(id)!.setTimeout(begin, GRID_TUNING.tickMs);
    };
    this.cluster.processes.get(id)!.setTimeout(begin, 0);
    return node;
  }

  crash(id: string): void {
    this.placements.get(id)?.stop();
    this.placements.delete(id);
    this.cluster.crash(id);
  }
}

/** Whether the node has started its coordination group. */
export function coordinated(node: GridNode): boolean {
  try {
    return node.coordination !== undefined;
  } catch {
    return false;
  }
}
