import { describe, expect, it } from 'vitest';
import type { RaftNode } from '../../driver/raft-node.ts';
import { systemScheduler } from '../../driver/scheduler.ts';
import { createPartitionTable } from '../../partition/partition-table.ts';
import type { PeerTransport } from '../../transport/peer-transport.ts';
import { RaftMoveExecutor } from './raft-move-executor.ts';

/** An executor whose every group is `replica`, local to this node. */
function executorOn(replica: RaftNode, moveTimeoutMs: number): RaftMoveExecutor {
  return new RaftMoveExecutor({
    localReplica: () => replica,
    transport: {} as PeerTransport,
    scheduler: systemScheduler,
    pollMs: 10,
    requestTimeoutMs: 100,
    moveTimeoutMs,
  });
}

describe('RaftMoveExecutor', () => {
  it('refuses to add a learner on a member whose process is not announced yet, touching no group', async () => {
    const changes: unknown[] = [];
    // A local replica that records any change asked of it: none may be.
    const replica = {
      changeMembership: (change: unknown) => {
        changes.push(change);
        return Promise.resolve();
      },
    } as unknown as RaftNode;
    const executor = executorOn(replica, 1_000);
    const table = createPartitionTable(2, ['a', 'b', 'c', 'd'], 3);
    const move = { type: 'add-learner', partition: 0, member: 'd', reason: 'balance' } as const;
    await expect(executor.execute(move, { table, incarnationOf: () => '' })).rejects.toThrow(
      'd has not announced its process yet',
    );
    expect(changes).toEqual([]);
  });

  it('gives up promoting a learner whose member restarted as another process, well before the move timeout', async () => {
    // A group whose learner 'd' (seated as process d1) never catches up: d1 is gone.
    const replica = {
      clusterStatus: () =>
        Promise.resolve({
          leader: 'a',
          role: 'leader',
          commitIndex: 10,
          members: [{ id: 'd', voter: false, matchIndex: 0 }],
        }),
    } as unknown as RaftNode;
    const executor = executorOn(replica, 60_000);
    const table = createPartitionTable(2, ['a', 'b', 'c', 'd'], 3);
    let process = 'd1';
    const move = { type: 'promote', partition: 0, member: 'd', reason: 'repair' } as const;
    const promoting = executor.execute(move, { table, incarnationOf: () => process });
    process = 'd2';
    const started = performance.now();
    await expect(promoting).rejects.toThrow('d restarted as another process');
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('counts a refused removal as done only once the configuration without the member is committed', async () => {
    // The leader's configuration no longer lists 'c', but that change is only appended: a new leader may
    // lose it, and the group would go on seating 'c' after the table dropped it.
    let configCommitted = false;
    const replica = {
      changeMembership: () => Promise.reject(new Error('not a member')),
      clusterStatus: () =>
        Promise.resolve({
          leader: 'a',
          role: 'leader',
          commitIndex: 10,
          lastIndex: 11,
          configCommitted,
          members: [
            { id: 'a', voter: true, matchIndex: 11 },
            { id: 'b', voter: true, matchIndex: 11 },
          ],
        }),
    } as unknown as RaftNode;
    const executor = executorOn(replica, 1_000);
    const table = createPartitionTable(1, ['a', 'b', 'c'], 3);
    const move = { type: 'remove', partition: 0, member: 'c', reason: 'drain' } as const;
    const context = { table, incarnationOf: () => 'c1' };
    await expect(executor.execute(move, context)).rejects.toThrow('not a member');
    configCommitted = true;
    await expect(executor.execute(move, context)).resolves.toBeUndefined();
  });
});
