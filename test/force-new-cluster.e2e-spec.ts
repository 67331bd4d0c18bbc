import type { ClusterStatus } from 'imdgo';
import { afterAll, describe, expect, it } from 'vitest';
import { DemoCluster, readAll, until, type DemoProcess } from './support/demo-processes.ts';

const BOUND_MS = 60_000;
const KEYS = 20;

describe('POST /cluster/force-new-cluster: the unsafe way back from a lost majority', () => {
  let cluster: DemoCluster | undefined;

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('makes the survivor the sole voter with its data; the lost members rejoin it', async () => {
    // Recovery of the one group's voters: partitioned mode has no force-new-cluster.
    cluster = await DemoCluster.start(3, ['--partitions', '1']);
    let leader: DemoProcess | undefined;
    await until(
      async () => (leader = await cluster!.leader()) !== undefined,
      () => 'a leader',
      BOUND_MS,
    );
    for (let i = 0; i < KEYS; i++) {
      expect((await leader!.request(`/kv/f${i}`, { method: 'PUT', body: { value: i } }))?.status).toBe(200);
    }
    const survivor = cluster.nodes.find((n) => n !== leader)!;
    const lost = cluster.nodes.filter((n) => n !== survivor);
    // Refused while the cluster is fine: the survivor knows its leader.
    expect((await survivor.request('/cluster/force-new-cluster', { method: 'POST' }))?.status).toBe(400);

    for (const node of lost) await node.kill();
    await until(
      async () => {
        const local = (await survivor.request('/cluster/local'))?.body as ClusterStatus | undefined;
        return local?.leader === null;
      },
      () => `${survivor.name} noticing that its leader is gone`,
      BOUND_MS,
    );
    // Refused during what could still be an ordinary election: the others were heard from moments ago.
    const early = await survivor.request('/cluster/force-new-cluster', { method: 'POST' });
    expect(early?.status, JSON.stringify(early?.body)).toBe(400);
    expect(JSON.stringify(early?.body)).toMatch(/majority of the voters may still be up/);
    let forced = null as Awaited<ReturnType<typeof survivor.request>>;
    await until(
      async () => {
        forced = await survivor.request('/cluster/force-new-cluster', { method: 'POST' });
        return forced?.status !== 400;
      },
      () => `${survivor.name} accepting force-new-cluster once the others were silent long enough`,
      BOUND_MS,
    );
    expect(forced?.status, JSON.stringify(forced?.body)).toBe(200);
    expect(forced?.body).toMatchObject({ leader: survivor.peer, role: 'leader' });

    const stored = await readAll(survivor, 'f');
    expect(stored).toEqual(new Map(Array.from({ length: KEYS }, (_, i) => [`f${i}`, i])));
    expect((await survivor.request('/kv/g', { method: 'PUT', body: { value: 'after' } }))?.status).toBe(200);

    for (const node of lost) node.start();
    await cluster.waitAllReady(BOUND_MS).catch((error: Error) => {
      throw new Error(`${error.message}\n${cluster!.outputs()}`, { cause: error });
    });
    const status = (await lost[0]!.request('/cluster'))?.body as ClusterStatus;
    expect(status.members.filter((m) => m.voter)).toHaveLength(3);
    expect((await readAll(lost[0]!, 'f')).size).toBe(KEYS);
    expect((await lost[1]!.request('/kv/g'))?.body).toMatchObject({ value: 'after' });
  }, 300_000);
});
