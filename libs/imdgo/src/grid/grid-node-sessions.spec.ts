import { describe, expect, it } from 'vitest';
import type { ClientSession } from '../driver/client-session.ts';
import type { GridNode } from './grid-node.ts';
import { unstartedGridNode } from './testing/unstarted-grid-node.ts';

/** The client id partition `p`'s writes from `node` carry. */
const clientOf = (node: GridNode, p: number): string =>
  (node as unknown as { sessions: ClientSession[] }).sessions[p]!.begin().client;

describe('GridNode session ids', () => {
  // They came from `random`: a shared seed gave two processes one id, and a session table then answered
  // one's writes with the other's results without applying them.
  it('differ between nodes, and between starts of one node, under the same seed', () => {
    const starts = [unstartedGridNode('a:1'), unstartedGridNode('a:1'), unstartedGridNode('b:1')];
    const ids = starts.flatMap((node) => [0, 1, 2, 3].map((p) => clientOf(node, p)));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('come from sessionIds when given (the simulator replays them)', () => {
    let n = 0;
    const node = unstartedGridNode('a:1', { sessionIds: () => `id-${n++}` });
    expect([0, 1, 2, 3].map((p) => clientOf(node, p))).toEqual(['id-0', 'id-1', 'id-2', 'id-3']);
  });
});
