import { InvalidArgumentError } from '../errors.ts';
import { majority } from '../raft/quorum.ts';
import type { NodeId } from '../raft/types.ts';
import type { PartitionReplicas, PartitionTable } from './partition-table.ts';
import type { MoveReason, PlacementMove } from './placement-move.ts';

/**
 * A grid member as the metadata group sees it:
 * - `joining`: known, not yet ready to host replicas (gets none);
 * - `active`: hosts replicas and leaderships;
 * - `draining`: being removed (`removeMember`): its replicas move off, then it can leave;
 * - `dead`: unreachable since `deadSinceMs`; its replicas stay (it may come back) until it has been dead for
 *   `deadMemberTimeoutMs`, then they are re-created elsewhere.
 * A table member missing from the member list counts as dead past the timeout.
 */
export type PlacementMember =
  | { readonly id: NodeId; readonly state: 'joining' | 'active' | 'draining' }
  | { readonly id: NodeId; readonly state: 'dead'; readonly deadSinceMs: number };

export interface PlacementInput {
  readonly members: readonly PlacementMember[];
  readonly table: PartitionTable;
  readonly nowMs: number;
  /**
   * Replicas per partition; fewer while the grid has fewer members that hold replicas (active ones, and
   * dead ones within the timeout, whose replicas stay). Default 3.
   */
  readonly replicas?: number;
  /** How long a member may be unreachable before its replicas are re-created elsewhere. Default 30 s. */
  readonly deadMemberTimeoutMs?: number;
  /** At most this many moves per plan and replicas being built (learners) at once. Default 4. */
  readonly maxConcurrentMoves?: number;
}

export interface PlacementPlan {
  /** At most one per partition; each may be carried out independently of the others. */
  readonly moves: readonly PlacementMove[];
  /** Partitions without a live majority of voters: no safe move exists until members come back. */
  readonly unavailable: readonly number[];
}

export const DEFAULT_REPLICAS = 3;
export const DEFAULT_DEAD_MEMBER_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CONCURRENT_MOVES = 4;

/** What a member is to placement right now; `expired` is dead past the timeout (or unknown). */
type Standing = 'joining' | 'active' | 'draining' | 'dead' | 'expired';

/** Removal preference among a partition's voters: the lower, the sooner it goes. */
const REMOVAL_ORDER: Record<Standing, number> = { expired: 0, draining: 1, dead: 2, joining: 3, active: 4 };

const byId = (a: NodeId, b: NodeId) => (a < b ? -1 : a > b ? 1 : 0);

/** Counts kept for active members only. */
function bump(counts: Map<NodeId, number>, id: NodeId, by: number): void {
  if (counts.has(id)) counts.set(id, counts.get(id)! + by);
}

/**
 * The next placement moves for `table`: a pure function of its input, so the metadata leader can call it again
 * after every applied (or failed) move. In priority order it
 * 1. finishes replicas being built (promote, or drop a learner that is no longer wanted),
 * 2. removes voters beyond the replica target (dead past the timeout, draining, dead, then the most loaded),
 * 3. moves preferred leaders off members that are not active,
 * 4. adds a learner to every partition short of `replicas` healthy voters (missing, draining or expired ones),
 * 5. moves replicas from the most to the least loaded active member while they differ by two or more,
 * 6. transfers leaderships (along a chain when needed) while leader counts differ by two or more.
 * Every move keeps a live majority of voters in its partition, and a partition gets at most one move per plan.
 * A balanced table on healthy members yields no moves.
 */
export function planPlacement(input: PlacementInput): PlacementPlan {
  const {
    members,
    table,
    nowMs,
    replicas = DEFAULT_REPLICAS,
    deadMemberTimeoutMs = DEFAULT_DEAD_MEMBER_TIMEOUT_MS,
    maxConcurrentMoves = DEFAULT_MAX_CONCURRENT_MOVES,
  } = input;
  validateInput(input, replicas, deadMemberTimeoutMs, maxConcurrentMoves);

  const standings = new Map<NodeId, Standing>();
  for (const member of members) {
    const expired = member.state === 'dead' && nowMs - member.deadSinceMs >= deadMemberTimeoutMs;
    standings.set(member.id, expired ? 'expired' : member.state);
  }
  const standing = (id: NodeId): Standing => standings.get(id) ?? 'expired';
  const isLive = (id: NodeId) => ['joining', 'active', 'draining'].includes(standing(id));
  const isLeaving = (id: NodeId) => ['draining', 'expired'].includes(standing(id));
  const liveCount = (ids: readonly NodeId[]) => ids.filter(isLive).length;
  const active = members
    .filter((m) => standing(m.id) === 'active')
    .map((m) => m.id)
    .sort(byId);
  // A member dead within the timeout keeps its seats: were it left out of the target, its voters would be
  // removed at once as surplus, leaving groups of two voters that one more failure stops for good.
  const holding = active.length + members.filter((m) => standing(m.id) === 'dead').length;
  const target = Math.min(replicas, holding);

  // Replicas (voters and learners) and preferred leaderships per active member, updated as moves are planned.
  const load = new Map<NodeId, number>(active.map((id) => [id, 0]));
  const leaderships = new Map<NodeId, number>(active.map((id) => [id, 0]));
  for (const { voters, learners, leader } of table.partitions) {
    for (const id of [...voters, ...learners]) if (load.has(id)) load.set(id, load.get(id)! + 1);
    if (leaderships.has(leader)) leaderships.set(leader, leaderships.get(leader)! + 1);
  }

  const moves: PlacementMove[] = [];
  const planned = new Set<number>();
  const unavailable: number[] = [];
  table.partitions.forEach(({ voters }, partition) => {
    if (liveCount(voters) < majority(voters.length)) {
      unavailable.push(partition);
      planned.add(partition);
    }
  });
  if (target === 0) return { moves, unavailable };

  let learnersBeingBuilt = table.partitions.filter((p) => p.learners.length > 0).length;
  const hasBudget = () => moves.length < maxConcurrentMoves;
  const canAddLearner = () => hasBudget() && learnersBeingBuilt < maxConcurrentMoves;
  const open = (visit: (group: PartitionReplicas, partition: number) => void) => {
    table.partitions.forEach((group, partition) => {
      if (hasBudget() && !planned.has(partition)) visit(group, partition);
    });
  };
  const plan = (move: PlacementMove) => {
    moves.push(move);
    planned.add(move.partition);
  };
  const healthyVoters = (voters: readonly NodeId[]) => voters.filter((id) => !isLeaving(id)).length;
  const leaderFor = (voters: readonly NodeId[], except: NodeId): NodeId | undefined =>
    voters
      .filter((id) => id !== except && standing(id) === 'active')
      .sort((a, b) => leaderships.get(a)! - leaderships.get(b)! || byId(a, b))[0];
  const transferLeader = (partition: number, from: NodeId, to: NodeId, reason: MoveReason) => {
    plan({ type: 'transfer-leader', partition, from, to, reason });
    bump(leaderships, from, -1);
    bump(leaderships, to, 1);
  };
  const reasonToRemove = (id: NodeId, ifActive: MoveReason): MoveReason =>
    standing(id) === 'draining' ? 'drain' : standing(id) === 'active' ? ifActive : 'repair';
  const reasonToAdd = (voters: readonly NodeId[]): MoveReason =>
    healthyVoters(voters) < target
      ? voters.some((id) => standing(id) === 'draining')
        ? 'drain'
        : 'repair'
      : 'balance';

  // 1. Replicas being built.
  open(({ voters, learners }, partition) => {
    if (learners.length === 0) return;
    const learner = [...learners].sort(byId)[0]!;
    if (standing(learner) !== 'active') {
      plan({ type: 'remove', partition, member: learner, reason: reasonToRemove(learner, 'shrink') });
      bump(load, learner, -1);
      return;
    }
    // Promote when the partition needs it, or when some voter should make room for it (is leaving, dead, or
    // more loaded); otherwise the learner is surplus and goes.
    const wanted =
      healthyVoters(voters) < target ||
      voters.some((id) => standing(id) !== 'active' || load.get(id)! > load.get(learner)!);
    if (wanted) plan({ type: 'promote', partition, member: learner, reason: reasonToAdd(voters) });
    else {
      plan({ type: 'remove', partition, member: learner, reason: 'shrink' });
      bump(load, learner, -1);
    }
  });

  // 2. Voters beyond the target.
  open(({ voters, leader }, partition) => {
    if (voters.length <= target) return;
    // The first in removal order whose removal keeps a live majority (a dead voter may go before a draining one).
    const victim = [...voters]
      .sort(
        (a, b) =>
          REMOVAL_ORDER[standing(a)] - REMOVAL_ORDER[standing(b)] ||
          (load.get(b) ?? 0) - (load.get(a) ?? 0) ||
          Number(a === leader) - Number(b === leader) ||
          byId(a, b),
      )
      .find((id) => {
        const remaining = voters.filter((other) => other !== id);
        return liveCount(remaining) >= majority(remaining.length);
      });
    if (victim === undefined) return;
    if (victim === leader) {
      const successor = leaderFor(voters, victim);
      if (successor !== undefined) transferLeader(partition, leader, successor, 'shrink');
      return;
    }
    plan({ type: 'remove', partition, member: victim, reason: reasonToRemove(victim, 'shrink') });
    bump(load, victim, -1);
  });

  // 3. Preferred leaders on members that are not active.
  open(({ voters, leader }, partition) => {
    if (standing(leader) === 'active') return;
    const successor = leaderFor(voters, leader);
    if (successor !== undefined) transferLeader(partition, leader, successor, 'leader-evacuate');
  });

  // 4. Partitions short of healthy voters, the shortest first.
  const addLearner = (partition: number, to: NodeId, reason: MoveReason) => {
    plan({ type: 'add-learner', partition, member: to, reason });
    bump(load, to, 1);
    learnersBeingBuilt++;
  };
  const leastLoadedOutside = ({ voters, learners }: PartitionReplicas) =>
    active
      .filter((id) => !voters.includes(id) && !learners.includes(id))
      .sort((a, b) => load.get(a)! - load.get(b)! || byId(a, b))[0];
  const short = table.partitions
    .map((group, partition) => ({ group, partition, healthy: healthyVoters(group.voters) }))
    .filter(
      ({ group, partition, healthy }) =>
        healthy < target && group.learners.length === 0 && !planned.has(partition),
    )
    .sort((a, b) => a.healthy - b.healthy || a.partition - b.partition);
  for (const { group, partition } of short) {
    if (!canAddLearner()) break;
    const to = leastLoadedOutside(group);
    if (to === undefined) continue;
    addLearner(partition, to, reasonToAdd(group.voters));
  }

  // 5. Replica balance: a member with two more replicas than another gives one of its partitions to it. Such
  // a partition exists, since the fuller member holds some partition the emptier one does not.
  while (canAddLearner()) {
    const byLoad = [...active].sort((a, b) => load.get(a)! - load.get(b)! || byId(a, b));
    let found = false;
    for (const from of byLoad.toReversed()) {
      for (const to of byLoad) {
        if (load.get(from)! - load.get(to)! < 2) break;
        const partition = table.partitions.findIndex(
          ({ voters, learners }, index) =>
            !planned.has(index) &&
            learners.length === 0 &&
            voters.length === target &&
            healthyVoters(voters) === target &&
            voters.includes(from) &&
            !voters.includes(to),
        );
        if (partition < 0) continue;
        addLearner(partition, to, 'balance');
        // The move will end by removing the most loaded voter, `from` or one as loaded.
        bump(load, from, -1);
        found = true;
        break;
      }
      if (found) break;
    }
    if (!found) break;
  }

  // 6. Leadership balance.
  balanceLeaderships(
    table,
    planned,
    leaderships,
    (id) => standing(id) === 'active',
    maxConcurrentMoves - moves.length,
  ).forEach(({ partition, from, to }) => transferLeader(partition, from, to, 'leader-balance'));

  return { moves, unavailable };
}

/**
 * Transfers that even out leaderships: from a member leading two more partitions than another, along the
 * shortest chain of partitions (m0 leads p1 where m1 votes, m1 leads p2 where m2 votes, …) to a member that
 * leads fewer, so that each transfer stays within a partition's voters. At most `budget` transfers.
 */
function balanceLeaderships(
  table: PartitionTable,
  planned: ReadonlySet<number>,
  leaderships: ReadonlyMap<NodeId, number>,
  isActive: (id: NodeId) => boolean,
  budget: number,
): { partition: number; from: NodeId; to: NodeId }[] {
  const counts = new Map(leaderships);
  const leaderOf = table.partitions.map((p) => p.leader);
  const used = new Set(planned);
  const transfers: { partition: number; from: NodeId; to: NodeId }[] = [];
  while (transfers.length < budget) {
    const members = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || byId(a, b));
    const fewest = counts.get(members.at(-1)!)!;
    let chain: { partition: number; from: NodeId; to: NodeId }[] | undefined;
    for (const source of members) {
      if (counts.get(source)! - fewest < 2) break;
      chain = shortestChain(source, counts.get(source)! - 2);
      if (chain !== undefined) break;
    }
    if (chain === undefined) break;
    // Over budget, the chain's tail alone: its first member leads at least one more than its last, so the
    // spread does not grow, and the next plan finds a shorter chain.
    const steps = chain.slice(-(budget - transfers.length));
    for (const step of steps) {
      transfers.push(step);
      used.add(step.partition);
      leaderOf[step.partition] = step.to;
    }
    counts.set(steps[0]!.from, counts.get(steps[0]!.from)! - 1);
    counts.set(steps.at(-1)!.to, counts.get(steps.at(-1)!.to)! + 1);
  }
  return transfers;

  // Breadth-first from `source` to any active member leading at most `atMost` partitions.
  function shortestChain(source: NodeId, atMost: number) {
    const via = new Map<NodeId, { partition: number; from: NodeId }>();
    const queue = [source];
    const seen = new Set([source]);
    for (let head = 0; head < queue.length; head++) {
      const member = queue[head]!;
      for (let partition = 0; partition < leaderOf.length; partition++) {
        if (leaderOf[partition] !== member || used.has(partition)) continue;
        for (const voter of [...table.partitions[partition]!.voters].sort(byId)) {
          if (seen.has(voter) || !isActive(voter)) continue;
          seen.add(voter);
          via.set(voter, { partition, from: member });
          if (counts.get(voter)! <= atMost) {
            const chain: { partition: number; from: NodeId; to: NodeId }[] = [];
            for (let to = voter; to !== source;) {
              const step = via.get(to)!;
              chain.unshift({ partition: step.partition, from: step.from, to });
              to = step.from;
            }
            return chain;
          }
          queue.push(voter);
        }
      }
    }
    return undefined;
  }
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  }
}

function validateInput(
  { members, nowMs }: PlacementInput,
  replicas: number,
  deadMemberTimeoutMs: number,
  maxConcurrentMoves: number,
): void {
  requirePositiveInteger('replicas', replicas);
  requirePositiveInteger('maxConcurrentMoves', maxConcurrentMoves);
  if (!Number.isFinite(deadMemberTimeoutMs) || deadMemberTimeoutMs < 0) {
    throw new InvalidArgumentError(
      `deadMemberTimeoutMs must be a non-negative number, got ${deadMemberTimeoutMs}`,
    );
  }
  if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number, got ${nowMs}`);
  const ids = new Set<NodeId>();
  for (const member of members) {
    if (ids.has(member.id)) throw new InvalidArgumentError(`member ${member.id} is listed twice`);
    ids.add(member.id);
    if (member.state === 'dead' && !Number.isFinite(member.deadSinceMs)) {
      throw new InvalidArgumentError(`dead member ${member.id} needs a finite deadSinceMs`);
    }
    if (!['joining', 'active', 'draining', 'dead'].includes(member.state)) {
      throw new InvalidArgumentError(`member ${member.id} has unknown state ${String(member.state)}`);
    }
  }
}
