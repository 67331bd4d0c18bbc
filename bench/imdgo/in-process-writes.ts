import { startImdgoCluster, type ImdgoTestCluster } from 'imdgo/testing';
import { makeDataset } from '../load/dataset.ts';

export interface InProcessWrites {
  readonly cluster: ImdgoTestCluster;
  /** `count` closed-loop `ImdgoStore.set`s of 100-byte values over 10,000 keys, `concurrency` at a time. */
  run(count: number): Promise<void>;
}

/** Three nodes in this process, one partition, writing through the leader or a follower. */
export async function startInProcessWrites(
  target: 'leader' | 'follower',
  concurrency: number,
): Promise<InProcessWrites> {
  const cluster = await startImdgoCluster(3, { imdgo: { partitions: 1 } });
  const leader = await cluster.leader();
  const node = target === 'leader' ? leader : cluster.nodes.find((n) => n !== leader)!;
  const data = makeDataset(10_000, 100);
  const run = async (count: number): Promise<void> => {
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < count) {
        issued++;
        await node.store.set(data.randomKey(), data.value);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  return { cluster, run };
}
