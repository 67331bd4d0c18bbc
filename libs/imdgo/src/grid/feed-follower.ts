import type { Scheduler } from '../driver/scheduler.ts';
import type { PartitionTable } from '../partition/partition-table.ts';
import type { NodeId } from '../raft/types.ts';
import type { ChangeEvent } from '../state-machine/change-event.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import type { FeedAnswer, GridEventsRequest, GridReply } from './grid-wire.ts';
import type { PartitionFeed } from './partition-feed.ts';

export interface FeedFollowerOptions {
  readonly self: NodeId;
  readonly transport: PeerTransport;
  readonly scheduler: Scheduler;
  readonly feeds: readonly PartitionFeed[];
  readonly table: () => PartitionTable;
  /** Whether this node's own replica feeds the partition (then it is not followed). */
  readonly hosts: (partition: number) => boolean;
  readonly adopt: (table: string) => void;
  /** How long a replica holds a poll with nothing new before it answers empty. */
  readonly waitMs: number;
  /** Pause before polling a replica again after a failure. */
  readonly retryMs: number;
}

/**
 * Follows the change feed of every partition this node holds no replica of: one long poll per replica
 * node at a time, carrying every partition followed there with the revision to resume from (the feed's
 * newest + 1), so reconnects and leader changes lose nothing and, the feed deduplicating by revision,
 * repeat nothing. A partition whose replica fails or no longer holds it moves on to its next replica (the
 * table's preferred leader first: any replica's events are committed ones). A partition whose events are
 * compacted on every replica gets a `reset` and resumes from the oldest retained.
 */
export class FeedFollower {
  private readonly options: FeedFollowerOptions;
  /** Per partition: which of its replicas it is followed from (an index into `sources`). */
  private readonly sourceIndex: number[];
  /** Per partition: the replicas that answered "compacted" since its last events, with their oldest revision. */
  private readonly compacted: Map<NodeId, number>[];
  private readonly polling = new Set<NodeId>();
  private stopped = false;
  private scheduled = false;

  constructor(options: FeedFollowerOptions) {
    this.options = options;
    this.sourceIndex = options.feeds.map(() => 0);
    this.compacted = options.feeds.map(() => new Map());
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
  }

  /** The table or the hosted groups changed: start the polls that are now needed. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.options.scheduler.defer(() => {
      this.scheduled = false;
      this.pollAll();
    });
  }

  /** The replica partition `partition` is followed from now, or null when this node hosts it. */
  sourceOf(partition: number): NodeId | null {
    if (this.options.hosts(partition)) return null;
    const sources = this.sources(partition);
    return sources.length === 0 ? null : sources[this.sourceIndex[partition]! % sources.length]!;
  }

  private sources(partition: number): NodeId[] {
    const replicas = this.options.table().partitions[partition]!;
    const ordered = [replicas.leader, ...replicas.voters, ...replicas.learners];
    return [...new Set(ordered)].filter((id) => id !== this.options.self);
  }

  private pollAll(): void {
    if (this.stopped) return;
    const bySource = new Map<NodeId, number[]>();
    this.options.feeds.forEach((_feed, partition) => {
      const source = this.sourceOf(partition);
      if (source === null || this.polling.has(source)) return;
      const list = bySource.get(source);
      if (list) list.push(partition);
      else bySource.set(source, [partition]);
    });
    for (const [source, partitions] of bySource) void this.poll(source, partitions);
  }

  private async poll(source: NodeId, partitions: readonly number[]): Promise<void> {
    this.polling.add(source);
    const { feeds, waitMs } = this.options;
    const request: GridEventsRequest = {
      kind: 'grid-events',
      epoch: this.options.table().epoch,
      polls: partitions.map((p) => [p, feeds[p]!.revision + 1] as const),
      waitMs,
    };
    let outcome: 'followed' | 'moved' | 'failed';
    try {
      // Twice the hold, so a reply that is merely slow is not taken for a dead replica.
      const reply = await this.options.transport.request<GridReply<FeedAnswer>>(source, request, waitMs * 2);
      if (this.stopped) return;
      outcome = this.take(source, partitions, reply);
    } catch {
      outcome = 'failed';
    }
    if (this.stopped) return;
    if (outcome === 'failed') for (const p of partitions) this.moveOn(p, source);
    // A replica that failed, or sent every partition elsewhere, is not asked again at once.
    if (outcome !== 'followed') {
      await new Promise<void>((resolve) => this.options.scheduler.setTimeout(resolve, this.options.retryMs));
    }
    this.polling.delete(source);
    this.schedule();
  }

  /**
   * Applies a replica's answer: `followed` when it answered with events for some partition (or a newer
   * table, now adopted), `moved` when it sent every partition to another replica, `failed` for no answer.
   */
  private take(
    source: NodeId,
    partitions: readonly number[],
    reply: GridReply<FeedAnswer>,
  ): 'followed' | 'moved' | 'failed' {
    if ('redirect' in reply) {
      this.options.adopt(reply.redirect);
      return 'followed';
    }
    if (!('answers' in reply) || !Array.isArray(reply.answers)) return 'failed';
    let followed = false;
    partitions.forEach((p, i) => {
      const answer = reply.answers[i];
      if (answer !== undefined && 'events' in answer && Array.isArray(answer.events)) {
        followed = true;
        this.compacted[p]!.clear();
        this.options.feeds[p]!.followed(answer.events as ChangeEvent[]);
      } else if (answer !== undefined && 'compacted' in answer && typeof answer.compacted === 'number') {
        this.onCompacted(p, source, answer.compacted);
      } else {
        this.moveOn(p, source);
      }
    });
    return followed ? 'followed' : 'moved';
  }

  private onCompacted(partition: number, source: NodeId, oldest: number): void {
    const seen = this.compacted[partition]!;
    seen.set(source, oldest);
    const sources = this.sources(partition);
    if (sources.every((id) => seen.has(id))) {
      // Lost on every replica: say so once, and resume from the oldest revision any of them retains.
      const resumeAt = Math.min(...seen.values());
      seen.clear();
      this.options.feeds[partition]!.reset(resumeAt - 1);
      return;
    }
    this.moveOn(partition, source);
  }

  private moveOn(partition: number, from: NodeId): void {
    if (this.sourceOf(partition) === from) this.sourceIndex[partition] = this.sourceIndex[partition]! + 1;
  }
}
