import type { ImdgoHistoryEvent } from '../../src/checker/index.ts';
import type { RaftNode } from '../../src/driver/raft-node.ts';
import type { GridChangeEvent } from '../../src/grid/grid-types.ts';
import { SeededRandom } from '../../src/raft/random.ts';
import type { Entry } from '../../src/raft/types.ts';
import { DEFAULT_MAP } from '../../src/state-machine/commands.ts';
import { drawNetworkFaults } from '../sim-network.ts';
import { DriverInvariants } from './driver-invariants.ts';
import { GridCluster } from './grid-cluster.ts';
import { GridWorkload, type AcknowledgedWrite } from './grid-workload.ts';

export interface GridSimulationOptions {
  readonly seed: number;
  /** Members; default 5 or 6 by seed. */
  readonly nodes?: number;
  readonly partitions?: number;
  /** Virtual time of faults and workload. */
  readonly durationMs?: number;
}

export interface GridSimulationResult {
  readonly seed: number;
  readonly violation: string | null;
  readonly history: ImdgoHistoryEvent[];
  /** Every client call and fault, in order: equal for two runs of one seed. */
  readonly log: readonly string[];
  readonly acknowledged: number;
  readonly faults: number;
}

const REPLICAS = 3;
const CLIENT_TIMEOUT_MS = 15_000;
const SETTLE_MS = 120_000;

/** One node's change feed in one process: the events it emitted, for the order and completeness checks. */
interface ProcessFeed {
  readonly id: string;
  readonly events: GridChangeEvent[];
}

/**
 * The grid on the driver simulator: GridNodes with production GroupHost, RaftNode and MemoryStorage on virtual
 * time over a lossy, duplicating, reordering network; one node at a time crashes (restarting with empty
 * memory, a new incarnation) or is cut off; clients call every node. Checked: every group's Raft invariants,
 * linearizability per key (by the caller, from `history`), exactly-once increments, every partition back to
 * full replication after the faults, and every running node's change feed holding every acknowledged write
 * in revision order per key, once, including partitions it holds no replica of.
 */
export async function runGridSimulation(options: GridSimulationOptions): Promise<GridSimulationResult> {
  const random = new SeededRandom(options.seed);
  const nodes = options.nodes ?? 5 + (options.seed % 2);
  const partitions = options.partitions ?? 8;
  const members = Array.from({ length: nodes }, (_, i) => `n${i}:1`);
  const log: string[] = [];
  const invariants = new Map<number, DriverInvariants>();
  const groupInvariants = (group: number): DriverInvariants => {
    let checks = invariants.get(group);
    if (!checks) {
      checks = new DriverInvariants();
      invariants.set(group, checks);
    }
    return checks;
  };
  const processFeeds: ProcessFeed[] = [];
  const grid = new GridCluster({
    members,
    partitions,
    replicas: REPLICAS,
    seed: random.int(2 ** 31),
    faults: drawNetworkFaults(random),
    extra: (id) => ({
      onGroupRoleChange: (group, state) => groupInvariants(group).onRoleChange(id, state),
      onGroupStarted: (group, node) =>
        watchApplies(node, (entry) => groupInvariants(group).onApplied(id, entry)),
    }),
  });
  const time = grid.time;
  const sleep = (ms: number) => new Promise<void>((resolve) => time.at(time.now + ms, resolve));
  const start = (id: string) => {
    const node = grid.start(id);
    const feed: ProcessFeed = { id, events: [] };
    processFeeds.push(feed);
    node.changes$.subscribe((event) => feed.events.push(event));
  };
  const violation = (): string | null => {
    for (const [group, checks] of invariants)
      if (checks.violation) return `group ${group}: ${checks.violation}`;
    return null;
  };
  const result = (failure: string | null, workload: GridWorkload | null, faults: number) => ({
    seed: options.seed,
    violation: failure ?? violation(),
    history: workload?.history ?? [],
    log,
    acknowledged: workload?.acknowledged.length ?? 0,
    faults,
  });

  for (const id of members) start(id);
  try {
    await grid.runUntil(() => grid.fullyReplicated(), 'every group formed', SETTLE_MS);
  } catch (error) {
    return result(`liveness: ${(error as Error).message}`, null, 0);
  }

  const workload = new GridWorkload(
    random,
    {
      reachable: () => grid.alive().map((id) => grid.node(id)),
      sleep,
      within: (promise, ms) => Promise.race([promise, sleep(ms).then(() => 'timeout' as const)]),
      log: (text) => log.push(`${time.now.toFixed(1)} ${text}`),
    },
    CLIENT_TIMEOUT_MS,
  );
  workload.start(6);

  // One fault at a time, and the next only once every partition is fully replicated again: losing the
  // memory of two replicas of one group at once would lose acknowledged writes, by design.
  let faults = 0;
  let nemesisFailure: string | null = null;
  const end = time.now + (options.durationMs ?? 15_000);
  const nemesis = (async () => {
    while (time.now < end) {
      await sleep(500 + random.int(1500));
      const victim = random.pick(members);
      faults++;
      if (random.chance(0.5)) {
        log.push(`${time.now.toFixed(1)} crash ${victim}`);
        grid.crash(victim);
        await sleep(200 + random.int(2000));
        log.push(`${time.now.toFixed(1)} restart ${victim}`);
        start(victim);
      } else {
        const others = members.filter((id) => id !== victim);
        log.push(`${time.now.toFixed(1)} isolate ${victim}`);
        grid.wire.network.partition([victim], others);
        await sleep(300 + random.int(3000));
        log.push(`${time.now.toFixed(1)} heal`);
        grid.wire.network.heal();
      }
      const deadline = time.now + SETTLE_MS;
      while (!grid.fullyReplicated()) {
        if (time.now > deadline) {
          nemesisFailure = `liveness: not fully replicated ${SETTLE_MS} ms after fault ${faults}`;
          return;
        }
        await sleep(100);
      }
    }
  })();
  let nemesisDone = false;
  void nemesis.then(() => (nemesisDone = true));
  let workloadDone = false;
  try {
    await grid.runUntil(() => nemesisDone || violation() !== null, 'the fault schedule ends', 10 * SETTLE_MS);
    void workload.stop().then(() => (workloadDone = true));
    await grid.runUntil(() => workloadDone, 'the clients finish', 2 * CLIENT_TIMEOUT_MS);
  } catch (error) {
    return result(`liveness: ${(error as Error).message}`, workload, faults);
  }
  if (nemesisFailure || violation()) return result(nemesisFailure, workload, faults);

  // Every acknowledged write reaches every running node's feed.
  const running = grid.alive().map((id) => processFeeds.findLast((feed) => feed.id === id)!);
  try {
    await grid.runUntil(
      () => running.every((feed) => missing(feed, workload.acknowledged) === null),
      'every feed holds every acknowledged write',
      SETTLE_MS,
    );
  } catch {
    const feed = running.find((f) => missing(f, workload.acknowledged) !== null)!;
    return result(`change feed: ${feed.id} ${missing(feed, workload.acknowledged)}`, workload, faults);
  }
  for (const feed of processFeeds) {
    const problem = orderProblem(feed.events);
    if (problem) return result(`change feed of a process of ${feed.id}: ${problem}`, workload, faults);
  }
  const counters = await finalCounters(grid, workload);
  if (typeof counters === 'string') return result(counters, workload, faults);
  return result(
    workload.checkIncrements((key) => counters.get(key) ?? 0),
    workload,
    faults,
  );
}

/** Calls `onApplied` with every entry `node` applies, before it applies it. */
function watchApplies(node: RaftNode, onApplied: (entry: Entry) => void): void {
  const apply = node.machine.apply.bind(node.machine);
  node.machine.apply = (entry: Entry) => {
    onApplied(entry);
    return apply(entry);
  };
}

/** The first acknowledged write `feed` does not show (nor cover with a reset), or null. */
function missing(feed: ProcessFeed, acknowledged: readonly AcknowledgedWrite[]): string | null {
  const seen = new Set<string>();
  const resets = new Map<number, number>();
  for (const event of feed.events) {
    if (event.type === 'reset')
      resets.set(event.partition, Math.max(resets.get(event.partition) ?? 0, event.revision));
    else seen.add(`${event.partition}/${event.revision}/${event.key}`);
  }
  for (const write of acknowledged) {
    if ((resets.get(write.partition) ?? 0) >= write.revision) continue;
    if (!seen.has(`${write.partition}/${write.revision}/${write.key}`))
      return `never saw ${write.key} at revision ${write.revision} of partition ${write.partition}`;
  }
  return null;
}

/** Per key, revisions strictly increase (no repeat, no reorder); per partition they never go back. */
function orderProblem(events: readonly GridChangeEvent[]): string | null {
  const byKey = new Map<string, number>();
  const byPartition = new Map<number, number>();
  for (const event of events) {
    const last = byPartition.get(event.partition) ?? 0;
    if (event.revision < last)
      return `partition ${event.partition} went back from ${last} to ${event.revision}`;
    byPartition.set(event.partition, event.revision);
    if (event.type === 'reset') continue;
    const id = `${event.partition}/${event.map}/${event.key}`;
    const previous = byKey.get(id) ?? 0;
    if (event.revision <= previous)
      return `${event.key} at revision ${event.revision} after ${previous} (a repeat or a reorder)`;
    byKey.set(id, event.revision);
  }
  return null;
}

/** The counters' final values, read linearizably. */
async function finalCounters(
  grid: GridCluster,
  workload: GridWorkload,
): Promise<Map<string, number> | string> {
  const values = new Map<string, number>();
  const node = grid.node(grid.alive()[0]!);
  for (const key of workload.increments.keys()) {
    try {
      const record = await grid.settle(
        node.read(node.partitionOf(DEFAULT_MAP, key), DEFAULT_MAP, key, 'linearizable'),
        `read ${key}`,
      );
      values.set(key, (record?.value as number | undefined) ?? 0);
    } catch (error) {
      return `liveness: final read of ${key} failed: ${(error as Error).message}`;
    }
  }
  return values;
}
