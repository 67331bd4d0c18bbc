import { join } from 'node:path';
import {
  checkOperations,
  imdgoEventsToOperations,
  imdgoKvModel,
  type CheckResult,
} from '../libs/imdgo/src/checker/index.ts';
import { SeededRandom } from '../libs/imdgo/src/raft/random.ts';
import { ChaosCluster } from './cluster.ts';
import { readFinalValues } from './final-reads.ts';
import { History } from './history.ts';
import { Load } from './load.ts';
import { checkLocks, type LockGrantRecord } from './lock-check.ts';
import { LockLoad } from './lock-load.ts';
import { Nemesis, type FaultWindow } from './nemesis.ts';
import type { ChaosOptions } from './options.ts';
import { checkPresence } from './presence.ts';
import type { StateDigest } from './protocol.ts';
import { PacketNetwork } from './packet-network.ts';
import { faultPlan, PACKET_KINDS, type FaultKind } from './schedule.ts';
import { StallWatch } from './stall-watch.ts';
import { answeredFloorViolations } from './answered-floor.ts';
import { compareReplicaDigests } from './replica-digests.ts';
import { groupNames } from './state-digest.ts';

const ELECTION_TICKS = 10;
const REQUEST_TIMEOUT_MS = 2_000;
/** Small, so that snapshots are taken and sent to nodes that rejoin. */
const SNAPSHOT_THRESHOLD = 1_000;
const CONVERGE_MS = 60_000;
const OP_TIMEOUT_MS = REQUEST_TIMEOUT_MS + 1_000;
/** Election timeouts a connected majority may go without answering anything, beyond a client's own timeout. */
const STALL_ELECTION_TIMEOUTS = 10;
/** Short, so that a paused, killed or cut-off holder loses its locks within a fault. */
const LOCK_SESSION_TTL_MS = 3_000;
const LOCK_NAMES = ['lock-a', 'lock-b', 'lock-c'];
const LOCK_HOLD_MS = 100;
/** One broken lock can fail the same check for every later grant: the first few say enough. */
const MAX_LOCK_VIOLATIONS = 10;

export interface RunReport {
  readonly faults: ReadonlyMap<FaultKind, number>;
  readonly stalls: readonly number[];
  readonly windows: readonly FaultWindow[];
  readonly operations: History['counts'];
  readonly operationsByFunction: History['countsByFunction'];
  readonly unanswered: ReadonlyMap<string, number>;
  readonly keys: number;
  readonly linearizability: CheckResult<unknown, unknown>['result'];
  readonly replicas: readonly StateDigest[];
  readonly locks: LockCounts | null;
  readonly violations: readonly string[];
}

export interface LockCounts {
  readonly grants: number;
  /** Grants to a client that asked while the lock was still held: it was handed over. */
  readonly handOvers: number;
  readonly timedOutWaits: number;
  readonly writesAccepted: number;
  /** Writes the register refused because it had seen a higher token (a holder fenced off). */
  readonly writesFenced: number;
  readonly unanswered: number;
  readonly leaseOverlaps: readonly string[];
}

/**
 * One chaos run: starts the cluster, puts the load and the seeded faults on it for the duration, heals
 * everything, waits for convergence, then checks the history (linearizability, acknowledged writes) and
 * that every replica holds the same state.
 */
export async function runChaos(
  options: ChaosOptions,
  runDir: string,
  log: (line: string) => void,
): Promise<RunReport> {
  const electionTimeoutMs = ELECTION_TICKS * options.tickMs;
  const history = new History(join(runDir, 'history.jsonl'));
  const network = options.faults.some((kind) => PACKET_KINDS.includes(kind)) ? new PacketNetwork() : null;
  const cluster = await ChaosCluster.start({
    size: options.nodes,
    mode: options.mode,
    runDir,
    tickMs: options.tickMs,
    electionTicks: ELECTION_TICKS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    snapshotThreshold: SNAPSHOT_THRESHOLD,
    lockSessionTtlMs: LOCK_SESSION_TTL_MS,
    breakage: options.breakage,
    network,
    partitions: options.partitions,
  });
  log(`cluster up: ${cluster.nodes.map((n) => `${n.name} ${n.id} pid ${n.pid}`).join(', ')}`);
  const violations: string[] = [];
  const load = new Load(cluster, history, new SeededRandom(options.seed ^ 0x5bd1e995), {
    clients: options.workload === 'locks' ? 0 : options.clients,
    activeKeys: options.nodes + 1,
    opsPerKey: 200,
    thinkMs: options.thinkMs,
    opTimeoutMs: OP_TIMEOUT_MS,
  });
  const lockClients = { full: options.nodes, heavy: 0, locks: options.clients }[options.workload];
  const lockLoad = new LockLoad(
    cluster,
    new SeededRandom(options.seed ^ 0x1b873593),
    join(runDir, 'locks.jsonl'),
    {
      clients: lockClients,
      names: LOCK_NAMES,
      holdMs: LOCK_HOLD_MS,
      thinkMs: options.thinkMs,
      opTimeoutMs: OP_TIMEOUT_MS,
    },
  );
  const nemesis = new Nemesis(cluster, options.mode, log, () => ({
    invoked: load.invoked + lockLoad.invoked,
    answered: load.answered + lockLoad.answered,
  }));
  const stallWatch = new StallWatch(
    cluster,
    () => Math.max(load.lastAnswerAt, lockLoad.lastAnswerAt),
    OP_TIMEOUT_MS + STALL_ELECTION_TIMEOUTS * electionTimeoutMs,
  );
  let replicas: StateDigest[] = [];
  try {
    load.start();
    lockLoad.start();
    stallWatch.start();
    const faultsEnd = Date.now() + options.durationMs;
    // The first round, which has every kind of fault, always runs to its end.
    for (const fault of faultPlan(options.seed, electionTimeoutMs, options.faults)) {
      if (Date.now() >= faultsEnd && fault.index >= options.faults.length) break;
      await nemesis.run(fault, Math.max(faultsEnd, Date.now() + CONVERGE_MS));
    }
    log(
      `faults over: ${history.counts.ok} ok, ${history.counts.fail} fail, ${history.counts.info} info so far`,
    );
    stallWatch.stop();
    await load.stop();
    await lockLoad.stop();
    await nemesis.healAll();
    if (!(await cluster.waitConverged(CONVERGE_MS))) {
      violations.push(
        `the cluster did not converge within ${CONVERGE_MS / 1000} s of healing: ${await cluster.describe()}`,
      );
    } else {
      log('converged; reading every key and comparing the replicas');
      const { values, unread } = await readFinalValues(
        cluster,
        history,
        load.keysUsed,
        REQUEST_TIMEOUT_MS * 2,
      );
      if (unread.length > 0) violations.push(`could not read ${unread.join(', ')} after convergence`);
      violations.push(...checkPresence(history.events, values));
      replicas = await identicalReplicas(cluster, options.partitions, violations);
    }
  } finally {
    stallWatch.stop();
    await load.stop();
    await lockLoad.stop();
    await cluster.stopAll();
    network?.destroy();
    await history.close();
  }
  violations.push(...nemesis.failures, ...stallWatch.stalls);
  violations.push(...answeredFloorViolations(nemesis.windows, options.minAnswered));
  const lockCheck = checkLocks(
    lockLoad.grants,
    lockLoad.writes,
    nemesis.windows.map((w) => ({ ...w, clock: w.kind.startsWith('clock') })),
    LOCK_SESSION_TTL_MS,
  );
  violations.push(...lockCheck.violations.slice(0, MAX_LOCK_VIOLATIONS));
  if (lockCheck.violations.length > MAX_LOCK_VIOLATIONS) {
    violations.push(`lock checks: ${lockCheck.violations.length - MAX_LOCK_VIOLATIONS} more lock violations`);
  }
  log(`checking ${history.events.length} events for linearizability`);
  const check = checkOperations(imdgoKvModel, imdgoEventsToOperations(history.events), {
    timeoutMs: options.checkTimeoutMs,
  });
  if (check.result === 'not-linearizable') {
    const key = check.partition[0]?.input.key;
    violations.push(
      `not linearizable: key ${key} (${check.partition.length} operations; the longest linearizable prefix has ${check.longestLinearization.length})`,
    );
  } else if (check.result === 'unknown') {
    violations.push(
      `linearizability unknown: the check ran out of time on ${check.unfinishedPartitions.length} key(s)`,
    );
  }
  return {
    faults: nemesis.counts,
    stalls: nemesis.stalls,
    windows: nemesis.windows,
    operations: history.counts,
    operationsByFunction: history.countsByFunction,
    unanswered: load.unanswered,
    keys: load.keysUsed.length,
    linearizability: check.result,
    replicas,
    locks:
      lockClients === 0
        ? null
        : {
            grants: lockLoad.grants.length,
            handOvers: countHandOvers(lockLoad.grants),
            timedOutWaits: lockLoad.timedOutWaits,
            writesAccepted: lockLoad.writes.filter((w) => w.accepted).length,
            writesFenced: lockLoad.writes.filter((w) => !w.accepted).length,
            unanswered: lockLoad.unanswered,
            leaseOverlaps: lockCheck.leaseOverlaps,
          },
    violations,
  };
}

/**
 * Digests of every replica of every group (per partition in partitioned mode); a group's replicas must all
 * be equal. Retried while an index is still being applied.
 */
async function identicalReplicas(
  cluster: ChaosCluster,
  partitions: number,
  violations: string[],
): Promise<StateDigest[]> {
  for (let attempt = 1; ; attempt++) {
    const digests = [...(await cluster.digests())].map(([node, list]) => ({
      name: node.name,
      digests: list,
    }));
    const comparison = compareReplicaDigests(digests, groupNames(partitions));
    if (comparison.settled || attempt === 3) {
      violations.push(...comparison.violations);
      return digests.flatMap((node) => node.digests);
    }
    await cluster.waitConverged(CONVERGE_MS);
  }
}

function countHandOvers(grants: readonly LockGrantRecord[]): number {
  const lastRelease = new Map<string, number>();
  let handOvers = 0;
  for (const grant of [...grants].sort((a, b) => a.ackedAt - b.ackedAt)) {
    if (grant.invokedAt < (lastRelease.get(grant.name) ?? -Infinity)) handOvers++;
    lastRelease.set(grant.name, grant.releasedAt);
  }
  return handOvers;
}
