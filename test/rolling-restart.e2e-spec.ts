import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContinuousWriter, DemoCluster, readAll, until } from './support/demo-processes.ts';

const ROUNDS = 9;
/** How long one restarted node may take to be ready again on a loaded machine before it counts as stuck. */
const READY_BOUND_MS = 60_000;

describe('rolling restart of real demo processes in memory mode', () => {
  let cluster: DemoCluster;

  beforeAll(async () => {
    // One group. Partitioned restarts one after another: test/partitioned-durability (in process) and
    // chaos with --partitions (kill -9 of real processes).
    cluster = await DemoCluster.start(3, ['--partitions', '1']);
  }, 180_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it(`kill -9, restart, wait for /ready, next: ${ROUNDS} rounds under writes, nothing lost`, async () => {
    const writer = new ContinuousWriter(cluster, 'rr');
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const node = cluster.nodes[round % cluster.nodes.length]!;
        await node.kill();
        node.start();
        // No extra wait after readiness: that is the whole point of it.
        await until(
          () => node.isReady(),
          () => `${node.name} ready again in round ${round + 1}\n${cluster.outputs()}`,
          READY_BOUND_MS,
        );
      }
    } finally {
      await writer.stop();
    }
    await cluster.waitAllReady(READY_BOUND_MS);
    const stored = await readAll(cluster.nodes[0]!, 'rr');
    const lost = [...writer.acknowledged].filter(([key, value]) => stored.get(key) !== value);
    console.log(
      `rolling restart: ${ROUNDS} rounds, ${writer.acknowledged.size} acknowledged writes, ` +
        `${writer.failures} failed attempts, longest gap ${writer.longestGapMs} ms`,
    );
    expect(writer.acknowledged.size).toBeGreaterThan(ROUNDS);
    expect(lost).toEqual([]);
  }, 900_000);
});
