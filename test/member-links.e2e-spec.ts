import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NestTcpTransport } from '../libs/imdgo/src/transport/nest-tcp-transport.ts';
import { startCluster, type TestCluster } from './support/cluster.ts';

describe('links to members that left', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    // removeMember: one group only, for now.
    cluster = await startCluster(3, { partitions: 1 });
  });
  afterAll(() => cluster.closeAll());

  it('are closed on every remaining node once the configuration that removed them applies', async () => {
    const retain = vi.spyOn(NestTcpTransport.prototype, 'retain');
    const leader = await cluster.leader();
    const [removed, kept] = await cluster.followers();
    await leader.cluster.removeMember(removed!.id);
    const remaining = [leader.id, kept!.id].sort();
    for (const node of [leader, kept!]) {
      await vi.waitFor(() => {
        const calls = retain.mock.contexts
          .map((transport, i) => ({ transport, members: retain.mock.calls[i]![0] }))
          .filter(({ transport }) => (transport as unknown as { id: string }).id === node.id);
        expect(calls.map(({ members }) => [...members].sort())).toContainEqual(remaining);
      });
    }
    retain.mockRestore();
  });
});
