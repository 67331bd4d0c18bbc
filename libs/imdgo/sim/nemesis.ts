import type { SeededRandom } from '../src/raft/random.ts';
import type { NodeId } from '../src/raft/types.ts';

export type FaultKind =
  'partition' | 'isolate-leader' | 'one-way' | 'clog' | 'unclog' | 'crash' | 'pause' | 'heal';

/** Which faults this seed uses and how often it acts (swarm testing). */
export interface NemesisPlan {
  readonly enabled: readonly FaultKind[];
  /**
   * Chance that a node crashes right after it persisted a vote for another node, and restarts at once:
   * the moment where what was (or was not) persisted decides election safety.
   */
  readonly crashAfterVoteRate: number;
  /** Chance that a new leader crashes within moments of its election, its no-op barely replicated (Figure 8). */
  readonly crashAfterElectionRate: number;
  /** Chance that a leader crashes right after its commit index moved, before followers hear of it. */
  readonly crashAfterCommitRate: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
}

export function drawNemesisPlan(random: SeededRandom): NemesisPlan {
  const all: FaultKind[] = ['partition', 'isolate-leader', 'one-way', 'clog', 'crash', 'pause'];
  const enabled = all.filter(() => random.chance(0.5));
  if (enabled.includes('clog')) enabled.push('unclog');
  if (enabled.length > 0) enabled.push('heal');
  const minIntervalMs = 100 + random.int(900);
  const crashAfterVoteRate = random.chance(0.5) ? 0 : random.next() * 0.5;
  const crashAfterElectionRate = random.chance(0.5) ? 0 : random.next() * 0.5;
  const crashAfterCommitRate = random.chance(0.5) ? 0 : random.next() * 0.2;
  return {
    enabled,
    crashAfterVoteRate,
    crashAfterElectionRate,
    crashAfterCommitRate,
    minIntervalMs,
    maxIntervalMs: minIntervalMs + random.int(3000),
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
