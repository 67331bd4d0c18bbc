import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { ImdgoStore } from '../src/nest/imdgo-store.ts';
import { startImdgoCluster } from './start-cluster.ts';

@Injectable()
class Greeter {
  constructor(readonly store: ImdgoStore) {}
}

describe('startImdgoCluster', () => {
  it('refuses a size that is not a positive integer, naming it', async () => {
    await expect(startImdgoCluster(0)).rejects.toThrow('size must be a positive integer, got 0');
    await expect(startImdgoCluster(1.5)).rejects.toThrow('got 1.5');
  });

  it('resolves with every node formed around one leader, with the caller providers on each node', async () => {
    const cluster = await startImdgoCluster(3, {
      providers: [Greeter],
      logger: { log() {}, warn() {}, error() {} },
    });
    try {
      const leader = await cluster.leader();
      for (const node of cluster.nodes) {
        const status = node.cluster.localStatus();
        expect(status.leader).toBe(leader.id);
        expect(status.members.filter((member) => member.voter)).toHaveLength(3);
        expect(node.module.get(Greeter).store).toBe(node.store);
      }
      await cluster.nodes[1]!.store.set('k', 'v');
      expect(await cluster.nodes[2]!.store.get('k')).toBe('v');
    } finally {
      await cluster.close();
    }
    await cluster.close(); // idempotent
    expect(() => cluster.nodes[0]!.cluster.localStatus()).toThrow();
  });
});
