import { Injectable } from '@nestjs/common';
import { Cron, ScheduleModule } from '@nestjs/schedule';
import { ClusterSingleton, ImdgoCluster } from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from './support/cluster.ts';

const SESSION_TTL_MS = 2_000;

interface Run {
  /** The scheduled second the tick belongs to (cron fires just after it; 100 ms early is tolerated). */
  readonly slot: number;
  readonly node: string;
}

/** Every run of every node's job, in this process. */
const runs: Run[] = [];

@Injectable()
class ReportJob {
  private readonly cluster: ImdgoCluster;

  constructor(cluster: ImdgoCluster) {
    this.cluster = cluster;
  }

  @Cron('* * * * * *')
  @ClusterSingleton('every-second-report')
  report(): void {
    runs.push({ slot: Math.floor((Date.now() + 100) / 1000), node: this.cluster.localStatus().nodeId });
  }
}

/** The slots in `from` (inclusive) up to `to` (inclusive) with no run, and those with more than one. */
function coverage(from: number, to: number): { missed: number[]; twice: number[] } {
  const missed: number[] = [];
  const twice: number[] = [];
  for (let slot = from; slot <= to; slot++) {
    const count = runs.filter((run) => run.slot === slot).length;
    if (count === 0) missed.push(slot);
    if (count > 1) twice.push(slot);
  }
  return { missed, twice };
}

describe('@ClusterSingleton with @Cron on three nodes', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(
      3,
      { lockSessionTtlMs: SESSION_TTL_MS },
      { imports: [ScheduleModule.forRoot()], providers: [ReportJob] },
    );
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('runs each tick on exactly one node, and across the holder crashing, never twice', async () => {
    await waitFor(() => runs.length >= 4, 'four ticks run', 20_000);
    const firstSlot = runs[0]!.slot;
    const holder = runs[0]!.node;
    const crashed = cluster.nodes.find((node) => node.id === holder)!;
    // A crash: the node stops at once, without closing its lock session; its cron keeps firing, as a
    // paused or cut-off node's would, and must skip once its lease on the session runs out.
    // With partitions the whole grid of the node stops (its coordination group alone is not the node).
    await (crashed.runtime.grid ?? crashed.runtime.node).stop();
    const crashSlot = Math.floor(Date.now() / 1000);
    const after = await waitFor(
      () => runs.find((run) => run.node !== holder),
      'another node takes over',
      20_000,
    );
    await waitFor(
      () => runs.filter((run) => run.node === after.node).length >= 4,
      'four ticks after',
      20_000,
    );
    const lastSlot = runs[runs.length - 1]!.slot;

    const before = runs.filter((run) => run.node === holder);
    const lastBefore = before[before.length - 1]!.slot;
    expect(new Set(runs.filter((run) => run.slot <= lastBefore).map((run) => run.node))).toEqual(
      new Set([holder]),
    );
    expect(runs.filter((run) => run.slot > lastBefore).every((run) => run.node === after.node)).toBe(true);
    // Exactly once per tick while a node holds the election, on each side of the crash.
    expect(coverage(firstSlot, lastBefore)).toEqual({ missed: [], twice: [] });
    expect(coverage(after.slot, lastSlot)).toEqual({ missed: [], twice: [] });
    // Between the two: the ticks while the crashed node's session had not yet expired ran nowhere.
    expect(after.slot - lastBefore).toBeLessThanOrEqual(SESSION_TTL_MS / 1000 + 2);
    expect(lastBefore).toBeLessThanOrEqual(crashSlot + SESSION_TTL_MS / 1000);
    await cluster.close(crashed);
  });
});
