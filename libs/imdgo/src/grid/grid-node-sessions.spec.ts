import { describe, expect, it } from 'vitest';
import type { ClientSession } from '../driver/client-session.ts';
import { SeededRandom } from '../raft/random.ts';
import { MemoryStorage } from '../storage/memory-storage.ts';
import { MemoryHub, MemoryTransport } from '../transport/memory-transport.ts';
import { GridNode } from './grid-node.ts';
import type { GridNodeOptions } from './grid-types.ts';

function gridNode(id: string, extra: Partial<GridNodeOptions> = {}): GridNode {
  return new GridNode({
    id,
    members: ['a:1', 'b:1', 'c:1'],
    partitions: 4,
    transport: new MemoryTransport(new MemoryHub(), id),
    // The same seed everywhere, as one `randomSeed` in every node's options, or a restart with it, gives.
    random: new SeededRandom(7),
    storageFor: () => new MemoryStorage(),
    incarnation: `${id}#1`,
    group: {
      tickMs: 100,
      electionTicks: 10,
      heartbeatTicks: 1,
      requestTimeoutMs: 10_000,
      snapshotThreshold: 1000,
      storeLimit: null,
      maxPendingWrites: 1000,
    },
    ...extra,
  });
}

/** The client id partition `p`'s writes from `node` carry. */
const clientOf = (node: GridNode, p: number): string =>
  (node as unknown as { sessions: ClientSession[] }).sessions[p]!.begin().client;

describe('GridNode session ids', () => {
  // They came from `random`: a shared seed gave two processes one id, and a session table then answered
  // one's writes with the other's results without applying them.
  it('differ between nodes, and between starts of one node, under the same seed', () => {
    const starts = [gridNode('a:1'), gridNode('a:1'), gridNode('b:1')];
    const ids = starts.flatMap((node) => [0, 1, 2, 3].map((p) => clientOf(node, p)));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('come from sessionIds when given (the simulator replays them)', () => {
    let n = 0;
    const node = gridNode('a:1', { sessionIds: () => `id-${n++}` });
    expect([0, 1, 2, 3].map((p) => clientOf(node, p))).toEqual(['id-0', 'id-1', 'id-2', 'id-3']);
  });
});
