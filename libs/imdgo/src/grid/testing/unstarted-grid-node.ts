import { SeededRandom } from '../../raft/random.ts';
import { MemoryStorage } from '../../storage/memory-storage.ts';
import { MemoryHub, MemoryTransport } from '../../transport/memory-transport.ts';
import { GridNode } from '../grid-node.ts';
import type { GridGroupTuning, GridNodeOptions } from '../grid-types.ts';

/** Every group's tuning in grid tests and the grid simulators: 100 ms ticks, elections after 1-2 s. */
export const GRID_TUNING: GridGroupTuning = {
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  requestTimeoutMs: 10_000,
  snapshotThreshold: 1000,
  storeLimit: null,
  maxPendingWrites: 1000,
};

/**
 * Node `id` of a 3-member, 4-partition grid on an in-memory transport, never started: for tests of what it
 * decides on its own. Every one is seeded alike, as one `randomSeed` in every node's options makes them.
 */
export function unstartedGridNode(id: string, extra: Partial<GridNodeOptions> = {}): GridNode {
  return new GridNode({
    id,
    members: ['a:1', 'b:1', 'c:1'],
    partitions: 4,
    transport: new MemoryTransport(new MemoryHub(), id),
    random: new SeededRandom(7),
    storageFor: () => new MemoryStorage(),
    incarnation: `${id}#1`,
    group: GRID_TUNING,
    ...extra,
  });
}
