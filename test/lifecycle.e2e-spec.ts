import { createServer } from 'node:net';
import { StoppedError } from 'imdgo';
import { describe, expect, it } from 'vitest';
import { startCluster } from './support/cluster.ts';

describe('lifecycle', () => {
  it('a single node elects itself, and closing it frees its port and refuses further calls', async () => {
    const cluster = await startCluster(1);
    const [node] = cluster.nodes;
    await cluster.leader();
    await node!.store.set('k', 'v');
    expect(await node!.store.get('k')).toBe('v');
    await cluster.closeAll();
    await expect(node!.store.set('k', 'w')).rejects.toBeInstanceOf(StoppedError);
    const port = Number(node!.id.split(':')[1]);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
