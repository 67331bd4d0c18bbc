import type { ClusterStatus } from 'imdgo';
import { afterAll, describe, expect, it } from 'vitest';
import { DemoCluster, until, type DemoProcess } from './support/demo-processes.ts';

const BOUND_MS = 60_000;

/** When `survivor` last heard from `node`, in ms since the epoch, or null. */
async function lastHeard(survivor: DemoProcess, node: DemoProcess): Promise<number | null> {
  const local = (await survivor.request('/cluster/local'))?.body as ClusterStatus | null | undefined;
  const member = local?.members?.find((m) => m.id === node.peer);
  return member?.lastContactMs == null ? null : Date.now() - member.lastContactMs;
}

describe('every member of a memory-mode cluster loses its memory, one after another', () => {
  let cluster: DemoCluster | undefined;

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('the restarted members form a new, empty cluster, and say that data was lost', async () => {
    cluster = await DemoCluster.start(3);
    const { nodes } = cluster;
    let leader: DemoProcess | undefined;
    await until(
      async () => (leader = await cluster!.leader()) !== undefined,
      () => 'a leader',
      BOUND_MS,
    );
    expect((await leader!.request('/kv/before', { method: 'PUT', body: { value: 1 } }))?.status).toBe(200);
    const [first, survivor] = nodes.filter((n) => n !== leader) as [DemoProcess, DemoProcess];

    // Two of three die; the first to come back hears the survivor answer as a member that knows no leader.
    await leader!.kill();
    await first.kill();
    const restartedAt = Date.now();
    first.start();
    let firstProbe: number | null = null;
    await until(
      async () => {
        const heard = await lastHeard(survivor, first);
        if (heard === null || heard < restartedAt) return false;
        firstProbe ??= heard;
        // A later probe round: the answer to the first one is back by now.
        return heard > firstProbe + 50;
      },
      () => `${survivor.name} hearing ${first.name} probe twice\n${cluster!.outputs()}`,
      BOUND_MS,
    );
    // Then the survivor dies too, and everyone is restarted.
    await survivor.kill();
    survivor.start();
    leader!.start();

    await cluster.waitAllReady(BOUND_MS).catch((error: Error) => {
      throw new Error(`${error.message}\n${cluster!.outputs()}`, { cause: error });
    });
    expect((await first.request('/kv/after', { method: 'PUT', body: { value: 2 } }))?.status).toBe(200);
    expect((await first.request('/kv/before'))?.status).toBe(404);
    const notice = 'formed a new empty cluster: data from before was lost';
    const health = await first.request('/health');
    expect(health?.body).toMatchObject({ details: { imdgo: { dataLoss: notice } } });
    expect(first.output).toContain(`every member lost its memory: ${notice}`);
  }, 300_000);
});
