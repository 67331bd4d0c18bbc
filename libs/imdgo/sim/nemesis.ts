import type { SeededRandom } from '../src/raft/random.ts';
import type { NodeId } from '../src/raft/types.ts';

export type FaultKind =
  'partition' | 'isolate-leader' | 'one-way' | 'clog' | 'unclog' | 'crash' | 'pause' | 'heal';

/**
 * Moments in a node's Ready where a fault does the most damage, because what was just persisted and what
 * was not yet sent decide safety: a vote granted, a leadership won (its no-op not yet out), entries a
 * leader appended, a new leader's first commit (which commits what earlier terms left), a later commit,
 * entries a follower accepted.
 */
export type FaultPoint =
  'vote' | 'elected' | 'leader-append' | 'first-commit' | 'leader-commit' | 'follower-append';

/**
 * `crash-unsent`: the process dies after its fsync and before sending (the Ready's messages are lost and
 * its entries not applied). `crash-soon`: it dies a few ms later, its messages already out. `isolate`: its
 * links fail before it sends, for a while.
 */
export type PointAction = 'crash-unsent' | 'crash-soon' | 'isolate';

export interface PointFault {
  readonly rate: number;
  readonly action: PointAction;
  /** Chance that the node is back (restarted or reconnected) within 30 ms rather than after seconds. */
  readonly quickRate: number;
}

/** Which faults this seed uses and how often it acts (swarm testing). */
export interface NemesisPlan {
  readonly enabled: readonly FaultKind[];
  /** Faults fired at Ready moments: either leader churn or scattered (see below). */
  readonly points: Readonly<Partial<Record<FaultPoint, PointFault>>>;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
}

/**
 * Swarm testing: each seed draws its own mix, so that every fault is also absent from many runs (faults
 * mask one another). Most seeds churn leaders; the others scatter point faults at random.
 */
export function drawNemesisPlan(random: SeededRandom): NemesisPlan {
  const churn = random.chance(0.6);
  const all: FaultKind[] = ['partition', 'isolate-leader', 'one-way', 'clog', 'crash', 'pause'];
  // Under leader churn, fewer random faults: they would mostly interrupt the interleavings churn builds.
  const enabled = all.filter(() => random.chance(churn ? 0.25 : 0.5));
  if (enabled.includes('clog')) enabled.push('unclog');
  if (enabled.length > 0) enabled.push('heal');
  const minIntervalMs = 100 + random.int(900);
  return {
    enabled,
    points: churn ? drawLeaderChurn(random) : drawScatteredPointFaults(random),
    minIntervalMs,
    maxIntervalMs: minIntervalMs + random.int(3000),
  };
}

/** Leader churn alone, without random faults: for scenarios that need leaders to change often. */
export function drawLeaderChurnPlan(random: SeededRandom): NemesisPlan {
  return { enabled: [], points: drawLeaderChurn(random), minIntervalMs: 1_000, maxIntervalMs: 1_000 };
}

const SCATTERED_MAX_RATES: Readonly<Record<FaultPoint, number>> = {
  vote: 0.5,
  elected: 0.5,
  'leader-append': 0.2,
  'first-commit': 0.5,
  'leader-commit': 0.2,
  'follower-append': 0.05,
};

/** Any point may be armed, with any action, at a rate of its own. */
function drawScatteredPointFaults(random: SeededRandom): Partial<Record<FaultPoint, PointFault>> {
  const points: Partial<Record<FaultPoint, PointFault>> = {};
  const actions: PointAction[] = ['crash-unsent', 'crash-soon', 'isolate'];
  for (const [point, maxRate] of Object.entries(SCATTERED_MAX_RATES) as [FaultPoint, number][]) {
    if (!random.chance(0.5)) continue;
    points[point] = { rate: random.next() * maxRate, action: random.pick(actions), quickRate: random.next() };
  }
  return points;
}

/**
 * Most new leaders are cut off right after their election or their first commit, before telling anyone,
 * and voters bounce right after voting. Uncommitted tails of different terms then pile up on different
 * nodes and compete in later elections (Raft Figure 8), and a vote not kept across a restart elects a
 * second leader.
 */
function drawLeaderChurn(random: SeededRandom): Partial<Record<FaultPoint, PointFault>> {
  const cutOff = (rate: number): PointFault => ({
    rate,
    // Mostly crashes: an isolated leader lingers, and its reconnection often undoes the interleaving.
    action: random.chance(0.8) ? 'crash-unsent' : 'isolate',
    quickRate: random.next() * 0.5,
  });
  return {
    vote: { rate: 0.2 + random.next() * 0.4, action: 'crash-soon', quickRate: 1 },
    elected: cutOff(0.3 + random.next() * 0.4),
    'first-commit': cutOff(0.8 + random.next() * 0.2),
    'leader-append': cutOff(random.next() * 0.4),
  };
}

/** The faults the nemesis can cause, implemented by the simulation. */
export interface NemesisTarget {
  nodeIds(): readonly NodeId[];
  leader(): NodeId | null;
  crashedCount(): number;
  partition(a: readonly NodeId[], b: readonly NodeId[]): void;
  blockOneWay(from: NodeId, to: NodeId): void;
  clog(from: NodeId, to: NodeId): void;
  unclogOne(): void;
  crash(node: NodeId, downMs: number): void;
  pause(node: NodeId, pausedMs: number): void;
  heal(): void;
  log(text: string): void;
}

export function runNemesisStep(random: SeededRandom, plan: NemesisPlan, target: NemesisTarget): void {
  if (plan.enabled.length === 0) return;
  const kind = random.pick(plan.enabled);
  const ids = target.nodeIds();
  switch (kind) {
    case 'partition': {
      const shuffled = random.shuffle(ids);
      const cut = 1 + random.int(ids.length - 1);
      target.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      target.log(`nemesis partition ${shuffled.slice(0, cut).join(',')} | ${shuffled.slice(cut).join(',')}`);
      return;
    }
    case 'isolate-leader': {
      const leader = target.leader();
      if (!leader) return;
      target.partition(
        [leader],
        ids.filter((id) => id !== leader),
      );
      target.log(`nemesis isolate leader ${leader}`);
      return;
    }
    case 'one-way': {
      const from = random.pick(ids);
      const to = random.pick(ids.filter((id) => id !== from));
      target.blockOneWay(from, to);
      target.log(`nemesis one-way ${from} -/-> ${to}`);
      return;
    }
    case 'clog': {
      const from = random.pick(ids);
      const to = random.pick(ids.filter((id) => id !== from));
      target.clog(from, to);
      target.log(`nemesis clog ${from} -> ${to}`);
      return;
    }
    case 'unclog':
      target.unclogOne();
      return;
    case 'crash': {
      // Safety must hold even with a majority down; keep it rare so runs still make progress.
      if (target.crashedCount() >= Math.floor(ids.length / 2) && !random.chance(0.1)) return;
      const node = random.chance(0.5) ? (target.leader() ?? random.pick(ids)) : random.pick(ids);
      // Quick bounces restart a node within one election: what a vote that was not persisted needs to go wrong.
      target.crash(node, random.chance(0.5) ? random.int(30) : 100 + random.int(3000));
      return;
    }
    case 'pause': {
      const node = random.chance(0.5) ? (target.leader() ?? random.pick(ids)) : random.pick(ids);
      target.pause(node, 200 + random.int(2500));
      return;
    }
    case 'heal':
      target.heal();
      target.log('nemesis heal');
      return;
  }
}
