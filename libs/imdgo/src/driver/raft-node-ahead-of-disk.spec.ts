import { afterEach, describe, expect, it } from 'vitest';
import type { Raft } from '../raft/raft.ts';
import type { Entry, HardState } from '../raft/types.ts';
import { MemoryStorage } from '../storage/memory-storage.ts';
import { NodeCluster, until } from './testing/node-cluster.ts';
import type { RaftNode } from './raft-node.ts';

/** Memory storage whose writes can be held in flight, as a slow fsync holds them. */
class HeldStorage extends MemoryStorage {
  holding = false;
  private readonly held: Array<() => void> = [];

  override save(hardState: HardState | null, entries: readonly Entry[]): void | Promise<void> {
    if (!this.holding) return super.save(hardState, entries);
    return new Promise((resolve) =>
      this.held.push(() => {
        super.save(hardState, entries);
        resolve();
      }),
    );
  }

  get inFlight(): number {
    return this.held.length;
  }

  release(): void {
    this.holding = false;
    for (const write of this.held.splice(0)) write();
  }
}

const raftOf = (node: RaftNode) => (node as unknown as { raft: Raft }).raft;

describe('RaftNode with its own log write in flight', () => {
  let cluster: NodeCluster;

  afterEach(async () => {
    await cluster.stopAll();
  });

  it('replicates and commits a write meanwhile, and answers it only once that write is durable', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const storages = new Map<string, HeldStorage>();
    const leader = await cluster.startAll((id) => {
      const storage = new HeldStorage();
      storages.set(id, storage);
      return { storage };
    });
    const leaderStorage = storages.get(leader.id)!;
    leaderStorage.holding = true;
    const before = raftOf(leader).status().lastIndex;
    let answered = false;
    const write = leader.write({ op: 'set', map: '', key: 'k', value: 'v' }).then(() => (answered = true));

    // The followers store the entry and the leader commits it by their answers, its own write still held.
    await until(() => raftOf(leader).status().commit > before, 'the write to commit');
    expect(leaderStorage.inFlight).toBeGreaterThan(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    expect(leader.machine.get('', 'k')).toBeUndefined();

    leaderStorage.release();
    await write;
    expect(leader.machine.get('', 'k')?.value).toBe('v');
  });
});
