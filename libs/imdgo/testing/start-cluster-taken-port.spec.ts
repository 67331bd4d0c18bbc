import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const ports = vi.hoisted(() => ({ taken: 0, handedOutTaken: false }));

// The first port handed out is one another server holds: the race between choosing a port and listening.
vi.mock('./free-port.ts', async (original) => {
  const real = await original<typeof import('./free-port.ts')>();
  return {
    freePort: async () => {
      if (!ports.handedOutTaken) {
        ports.handedOutTaken = true;
        return ports.taken;
      }
      return real.freePort();
    },
  };
});

const { startImdgoCluster } = await import('./start-cluster.ts');

describe('startImdgoCluster on a port taken after it was chosen', () => {
  let holder: Server;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    ports.taken = (holder.address() as { port: number }).port;
  });
  afterAll(() => new Promise((resolve) => holder.close(resolve)));

  it('starts again on fresh ports instead of failing', async () => {
    const cluster = await startImdgoCluster(2, { logger: { log() {}, warn() {}, error() {} } });
    try {
      expect(ports.handedOutTaken).toBe(true);
      expect(cluster.nodes.map((node) => node.id)).not.toContain(`127.0.0.1:${ports.taken}`);
      await cluster.nodes[0]!.store.set('k', 'v');
      expect(await cluster.nodes[1]!.store.get('k')).toBe('v');
    } finally {
      await cluster.close();
    }
  });
});
