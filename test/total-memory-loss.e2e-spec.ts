import { afterAll, describe, expect, it } from 'vitest';
import { DemoCluster, until, type DemoProcess } from './support/demo-processes.ts';

const BOUND_MS = 60_000;

/** The part of `/health` this test reads. */
interface HealthBody {
  details?: { imdgo?: { discovery?: string; dataLoss?: string } };
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
    // The member that hears of the old cluster is the coordinator (the lowest id), which bootstraps the new
    // one only once it sees every member fresh: so it is the one that must report the loss.
    const coordinator = [...nodes].sort((a, b) => (a.peer < b.peer ? -1 : 1))[0]!;
    if (leader === coordinator) {
      const target = nodes.find((n) => n !== coordinator)!;
      const moved = await coordinator.request('/cluster/transfer-leadership', {
        method: 'POST',
        body: { target: target.peer },
      });
      expect(moved?.status, JSON.stringify(moved?.body)).toBe(200);
      leader = target;
    }
    const first = coordinator;
    const survivor = nodes.find((n) => n !== leader && n !== first)!;

    // Two of three die; the first to come back hears the survivor answer as a member that knows no leader.
    await leader!.kill();
    await first.kill();
    first.start();
    await until(
      async () => {
        const health = (await first.request('/health'))?.body as HealthBody | undefined;
        return health?.details?.imdgo?.discovery === 'joining';
      },
      () => `${first.name} hearing ${survivor.name} answer as a member\n${cluster!.outputs()}`,
      BOUND_MS,
    );
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
