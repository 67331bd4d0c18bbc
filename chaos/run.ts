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
import { Nemesis } from './nemesis.ts';
import type { ChaosOptions } from './options.ts';
import { checkPresence } from './presence.ts';
import type { StateDigest } from './protocol.ts';
import { FAULT_KINDS, faultPlan, type FaultKind } from './schedule.ts';

const ELECTION_TICKS = 10;
const REQUEST_TIMEOUT_MS = 2_000;
/** Small, so that snapshots are taken and sent to nodes that rejoin. */
const SNAPSHOT_THRESHOLD = 1_000;
const CONVERGE_MS = 60_000;

export interface RunReport {
  readonly faults: ReadonlyMap<FaultKind, number>;
  readonly stalls: readonly number[];
  readonly operations: History['counts'];
  readonly operationsByFunction: History['countsByFunction'];
  readonly unanswered: ReadonlyMap<string, number>;
  readonly keys: number;
  readonly linearizability: CheckResult<unknown, unknown>['result'];
  readonly replicas: readonly StateDigest[];
  readonly violations: readonly string[];
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
  const cluster = await ChaosCluster.start({
    size: options.nodes,
    mode: options.mode,
    runDir,
    tickMs: options.tickMs,
    electionTicks: ELECTION_TICKS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    snapshotThreshold: SNAPSHOT_THRESHOLD,
    readConsistency: options.staleReads ? 'local' : 'linearizable',
  });
  log(`cluster up: ${cluster.nodes.map((n) => `${n.name} ${n.id} pid ${n.pid}`).join(', ')}`);
  const violations: string[] = [];
  const load = new Load(cluster, history, new SeededRandom(options.seed ^ 0x5bd1e995), {
    clients: options.clients,
    activeKeys: options.nodes + 1,
    opsPerKey: 200,
    thinkMs: 20,
    opTimeoutMs: REQUEST_TIMEOUT_MS + 1_000,
  });
  const nemesis = new Nemesis(cluster, options.mode, log);
  let replicas: StateDigest[] = [];
  try {
    load.start();
    const faultsEnd = Date.now() + options.durationMs;
    // The first round, which has every kind of fault, always runs to its end.
    for (const fault of faultPlan(options.seed, electionTimeoutMs)) {
      if (Date.now() >= faultsEnd && fault.index >= FAULT_KINDS.length) break;
      await nemesis.run(fault, Math.max(faultsEnd, Date.now() + CONVERGE_MS));
    }
    log(
      `faults over: ${history.counts.ok} ok, ${history.counts.fail} fail, ${history.counts.info} info so far`,
    );
    await load.stop();
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
      replicas = await identicalReplicas(cluster, violations);
    }
  } finally {
    await load.stop();
    await cluster.stopAll();
    await history.close();
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
    operations: history.counts,
    operationsByFunction: history.countsByFunction,
    unanswered: load.unanswered,
    keys: load.keysUsed.length,
    linearizability: check.result,
    replicas,
    violations,
  };
}

/** Digests of every node's state; they must all be equal. Retried while an index is still being applied. */
async function identicalReplicas(cluster: ChaosCluster, violations: string[]): Promise<StateDigest[]> {
  for (let attempt = 1; ; attempt++) {
    const digests = [...(await cluster.digests())];
    const same = (d: StateDigest) => d.appliedIndex === digests[0]![1].appliedIndex;
    if (digests.every(([, d]) => same(d)) || attempt === 3) {
      const differing = digests.filter(([, d]) => d.digest !== digests[0]![1].digest || !same(d));
      if (differing.length > 0) {
        const all = digests.map(
          ([n, d]) => `${n.name} ${d.digest.slice(0, 12)} (${d.keys} keys at ${d.appliedIndex})`,
        );
        violations.push(`replicas differ: ${all.join(', ')}`);
      }
      return digests.map(([, d]) => d);
    }
    await cluster.waitConverged(CONVERGE_MS);
  }
}
