import { Logger } from '@nestjs/common';
import { InvalidArgumentError } from '../../errors.ts';
import {
  DEFAULT_DEAD_MEMBER_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_MOVES,
  planPlacement,
} from '../../partition/placement-planner.ts';
import type { PlacementMove } from '../../partition/placement-move.ts';
import type { Scheduler, TimerHandle } from '../../driver/scheduler.ts';
import type { GridOutcome } from '../../state-machine/grid-meta.ts';
import type { NodeId } from '../../raft/types.ts';
import type { Coordination } from './coordination.ts';
import type { MoveExecutor } from './move-executor.ts';

export interface PlacementLoopOptions {
  /** How often the leader plans when nothing changed (ms); default 1000. */
  readonly intervalMs?: number;
  /** How long a member may be dead before its replicas are re-created elsewhere (ms); default 30 000. */
  readonly deadMemberTimeoutMs?: number;
  /** Silence after which the coordination leader marks a member dead (ms); default 3000. */
  readonly failureDetectionMs?: number;
  /** Moves carried out at once (and replicas being built); default 4. */
  readonly maxConcurrentMoves?: number;
  /** How long one move may take, catch-up included, before placement gives up and plans again (ms); default 60 000. */
  readonly moveTimeoutMs?: number;
}

export const DEFAULT_FAILURE_DETECTION_MS = 3_000;
export const DEFAULT_MOVE_TIMEOUT_MS = 60_000;

/** What placement did, for metrics and ImdgoCluster. */
export interface PlacementCounters {
  started: number;
  /** Carried out on the group and recorded in the table. */
  applied: number;
  /** Failed or timed out on the group, or refused by the table: planned again. */
  failed: number;
}

/** Times out a move: its group change may still land later; then a re-planned move finds it done. */
class MoveTimeoutError extends Error {}

/**
 * The placement loop of the coordination group's leader. On a change (`poke`) or every `intervalMs` it
 * marks members dead or alive (its failure detector restarts its counts whenever it becomes leader), plans
 * with `planPlacement` (its clock is only the planner's input: every decision goes through the log), carries
 * out each move on the partition's group through `executor`, and records it with `grid-move-applied` only
 * once the group has committed it. A move that fails or times out is dropped and planned again, so the
 * table never holds half a move.
 */
export class PlacementLoop {
  readonly counters: PlacementCounters = { started: 0, applied: 0, failed: 0 };
  private readonly coordination: Coordination;
  private readonly executor: MoveExecutor;
  private readonly scheduler: Scheduler;
  private readonly intervalMs: number;
  private readonly deadMemberTimeoutMs: number;
  private readonly failureDetectionMs: number;
  private readonly maxConcurrentMoves: number;
  private readonly moveTimeoutMs: number;
  private readonly logger = new Logger('PlacementLoop');
  private readonly inFlight = new Map<number, PlacementMove>();
  /** When this node became coordination leader (its clock), or null while it is not leader. */
  private leaderSince: number | null = null;
  /** Members not heard from as their recorded process, since when (this node's clock, while leader). */
  private readonly unheardSince = new Map<NodeId, { incarnation: string; since: number }>();
  /** Dead members as this leader first saw them: the log's `deadSince`, and when (this node's clock). */
  private readonly deadSeen = new Map<NodeId, { deadSince: number; seenAt: number }>();
  private timer: TimerHandle | null = null;
  private planning = false;
  private planAgain = false;
  private pokeScheduled = false;
  private stopped = false;
  /** Records go one after another, each against the epoch the one before it produced. */
  private records: Promise<void> = Promise.resolve();

  constructor(
    coordination: Coordination,
    executor: MoveExecutor,
    scheduler: Scheduler,
    options: PlacementLoopOptions = {},
  ) {
    this.coordination = coordination;
    this.executor = executor;
    this.scheduler = scheduler;
    this.intervalMs = positive('intervalMs', options.intervalMs ?? 1_000);
    this.deadMemberTimeoutMs = nonNegative(
      'deadMemberTimeoutMs',
      options.deadMemberTimeoutMs ?? DEFAULT_DEAD_MEMBER_TIMEOUT_MS,
    );
    this.failureDetectionMs = positive(
      'failureDetectionMs',
      options.failureDetectionMs ?? DEFAULT_FAILURE_DETECTION_MS,
    );
    this.maxConcurrentMoves = options.maxConcurrentMoves ?? DEFAULT_MAX_CONCURRENT_MOVES;
    if (!Number.isInteger(this.maxConcurrentMoves) || this.maxConcurrentMoves < 1) {
      throw new InvalidArgumentError(
        `maxConcurrentMoves must be a positive integer, got ${this.maxConcurrentMoves}`,
      );
    }
    this.moveTimeoutMs = positive('moveTimeoutMs', options.moveTimeoutMs ?? DEFAULT_MOVE_TIMEOUT_MS);
  }

  start(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = this.scheduler.setInterval(() => void this.round(), this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.scheduler.clearInterval(this.timer);
    this.timer = null;
  }

  /** Something changed (the table, a member, leadership): plan on a next turn rather than within a second. */
  poke(): void {
    if (this.pokeScheduled || this.stopped) return;
    this.pokeScheduled = true;
    this.scheduler.defer(() => {
      this.pokeScheduled = false;
      void this.round();
    });
  }

  /** The moves being carried out now. */
  movesInFlight(): PlacementMove[] {
    return [...this.inFlight.values()];
  }

  /** One planning round; exposed for tests that drive the loop without its timer. */
  async round(): Promise<void> {
    if (this.stopped) return;
    if (this.planning) {
      this.planAgain = true;
      return;
    }
    this.planning = true;
    try {
      do {
        this.planAgain = false;
        await this.planOnce();
      } while (this.planAgain && !this.stopped);
    } catch (error) {
      this.logger.warn(`placement round failed: ${(error as Error).message}`);
    } finally {
      this.planning = false;
    }
  }

  private async planOnce(): Promise<void> {
    if (!this.coordination.isLeader()) {
      this.leaderSince = null;
      this.unheardSince.clear();
      this.deadSeen.clear();
      return;
    }
    const now = this.scheduler.now();
    // A new leader heard from nobody yet: it gives every member a full detection time from now.
    this.leaderSince ??= now;
    await this.detectFailures(now);
    const meta = this.coordination.meta();
    const table = meta.table;
    if (table === null || !this.coordination.isLeader()) return;
    await this.retireGoneMembers(now);
    const members = meta
      .placementMembers()
      .map((m) => (m.state === 'dead' ? { ...m, deadSinceMs: this.deadSince(m.id, m.deadSinceMs, now) } : m));
    const { moves } = planPlacement({
      members,
      table,
      nowMs: now,
      replicas: meta.replicas,
      deadMemberTimeoutMs: this.deadMemberTimeoutMs,
      maxConcurrentMoves: this.maxConcurrentMoves,
    });
    for (const move of moves) {
      if (this.inFlight.size >= this.maxConcurrentMoves) break;
      if (!this.inFlight.has(move.partition)) this.carryOut(move);
    }
  }

  private async detectFailures(now: number): Promise<void> {
    const sinceLeader = now - this.leaderSince!;
    for (const member of this.coordination.meta().memberList()) {
      const { id, incarnation } = member;
      const heard = this.coordination.silenceMs(id);
      // Not heard from as the recorded process: silent since this leader first found it so. A process that
      // just registered (its coordination seat still being swapped) gets a full detection time to answer.
      const unheard = this.unheardSince.get(id);
      if (heard !== null) this.unheardSince.delete(id);
      else if (unheard?.incarnation !== incarnation) this.unheardSince.set(id, { incarnation, since: now });
      const silence = Math.min(heard ?? now - this.unheardSince.get(id)!.since, sinceLeader);
      if (member.deadSince === null && silence > this.failureDetectionMs) {
        this.logger.log(`marking ${id} dead: not heard from for ${silence} ms`);
        await this.coordination.propose({ op: 'grid-mark-dead', id, incarnation });
      } else if (member.deadSince !== null && heard !== null && heard <= this.failureDetectionMs) {
        await this.coordination.propose({ op: 'grid-mark-alive', id, incarnation });
      }
    }
  }

  /**
   * Since when a member counts as dead here: its `deadSince` in the log, or the moment this leader first saw
   * that mark if earlier. Log time never goes back, so after a clock that jumped forwards and back it stands
   * ahead of this clock, and the log's mark alone would hold off the timeout by the size of the jump.
   */
  private deadSince(id: NodeId, logged: number, now: number): number {
    let seen = this.deadSeen.get(id);
    if (seen?.deadSince !== logged) this.deadSeen.set(id, (seen = { deadSince: logged, seenAt: now }));
    return Math.min(logged, seen.seenAt);
  }

  /**
   * A member dead past the timeout, or drained (holding no replica any more), leaves the coordination group
   * too, so that its voters keep a live majority as members come and go. (It stays in the member list: a
   * new incarnation may join again.)
   */
  private async retireGoneMembers(now: number): Promise<void> {
    const meta = this.coordination.meta();
    const inGroup = new Set(this.coordination.groupMembers());
    for (const member of meta.memberList()) {
      if (!inGroup.has(member.id)) continue;
      const expired =
        member.deadSince !== null &&
        now - this.deadSince(member.id, member.deadSince, now) >= this.deadMemberTimeoutMs;
      if (!expired && !meta.isDrained(member.id)) continue;
      this.logger.log(`taking ${member.id} out of the coordination group`);
      await this.coordination.removeFromGroup(member.id);
    }
  }

  private carryOut(move: PlacementMove): void {
    this.inFlight.set(move.partition, move);
    this.counters.started++;
    // The members as recorded when asked: a move learns of a restart while it runs.
    const context = {
      table: this.coordination.meta().table!,
      incarnationOf: (id: string) => this.coordination.meta().member(id)?.incarnation,
    };
    this.withTimeout(this.executor.execute(move, context))
      .then(async () => {
        await this.record(move);
        this.inFlight.delete(move.partition);
        this.poke();
      })
      .catch((error: unknown) => {
        this.counters.failed++;
        // Planned again on the next tick, not at once: a group that cannot take it now fails fast.
        this.inFlight.delete(move.partition);
        this.logger.warn(`${describeMove(move)} failed, planning again: ${(error as Error).message}`);
      });
  }

  /** Records a move done on its group; a table that changed meanwhile gets the record against its epoch. */
  private record(move: PlacementMove): Promise<void> {
    const recorded = this.records.then(async () => {
      for (let attempt = 1; ; attempt++) {
        const epoch = this.coordination.meta().table?.epoch ?? 0;
        const result = await this.coordination.propose({ op: 'grid-move-applied', move, epoch });
        if (result.applied) {
          this.counters.applied++;
          return;
        }
        const reason = (result.value as GridOutcome).reason ?? 'refused';
        // This node's copy of the table was behind the log: try against the epoch the refusal names.
        if (attempt < 3 && reason.startsWith('planned at epoch')) continue;
        throw new Error(`the table refused ${describeMove(move)}: ${reason}`);
      }
    });
    this.records = recorded.catch(() => {});
    return recorded;
  }

  private withTimeout(work: Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.scheduler.setTimeout(
        () => reject(new MoveTimeoutError(`not done within ${this.moveTimeoutMs} ms`)),
        this.moveTimeoutMs,
      );
      work.then(
        () => {
          this.scheduler.clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          this.scheduler.clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }
}

export function describeMove(move: PlacementMove): string {
  return move.type === 'transfer-leader'
    ? `transfer-leader ${move.from}→${move.to} on partition ${move.partition}`
    : `${move.type} ${move.member} on partition ${move.partition}`;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new InvalidArgumentError(`${name} must be a non-negative number of milliseconds, got ${value}`);
  }
  return value;
}
