import type { Scheduler } from '../driver/scheduler.ts';
import type { NodeId } from '../raft/types.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import type { GridOp, GridOutcome, GridReply } from './grid-wire.ts';

/** The batch went to a node with a newer table, now adopted: retry the operation at once. */
export class TableRedirect extends Error {}

/** The answering node's table is older than ours: it must not act on it; ask another replica. */
export class StaleReplica extends Error {}

interface Waiting {
  readonly op: GridOp;
  readonly timeoutMs: number;
  readonly resolve: (outcome: GridOutcome) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Operations routed to one node in one event-loop turn travel as one request (as ForwardBatcher does for a
 * group's forwarded writes), stamped with the caller's table epoch at the time it leaves.
 */
export class GridRequestBatcher {
  private readonly waiting = new Map<NodeId, Waiting[]>();
  private readonly transport: PeerTransport;
  private readonly scheduler: Scheduler;
  private readonly epoch: () => number;
  private readonly adopt: (table: string) => void;
  /** Requests sent, and operations they carried: their ratio is the batching. */
  readonly counters = { requests: 0, ops: 0 };

  constructor(
    transport: PeerTransport,
    scheduler: Scheduler,
    epoch: () => number,
    adopt: (table: string) => void,
  ) {
    this.transport = transport;
    this.scheduler = scheduler;
    this.epoch = epoch;
    this.adopt = adopt;
  }

  call(to: NodeId, op: GridOp, timeoutMs: number): Promise<GridOutcome> {
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(to);
      if (!batch) {
        batch = [];
        this.waiting.set(to, batch);
        this.scheduler.defer(() => this.flush(to));
      }
      batch.push({ op, timeoutMs, resolve, reject });
    });
  }

  private flush(to: NodeId): void {
    const batch = this.waiting.get(to) ?? [];
    this.waiting.delete(to);
    if (batch.length === 0) return;
    this.counters.requests++;
    this.counters.ops += batch.length;
    const timeoutMs = Math.min(...batch.map((w) => w.timeoutMs));
    const request = { kind: 'grid-ops', epoch: this.epoch(), ops: batch.map((w) => w.op) };
    this.transport.request<GridReply<GridOutcome>>(to, request, timeoutMs).then(
      (reply) => this.settle(to, batch, reply),
      (error: Error) => {
        for (const w of batch) w.reject(error);
      },
    );
  }

  private settle(to: NodeId, batch: readonly Waiting[], reply: GridReply<GridOutcome> | undefined): void {
    if (reply && 'redirect' in reply && typeof reply.redirect === 'string') {
      let failure: Error = new TableRedirect(`${to} holds a newer partition table`);
      try {
        this.adopt(reply.redirect);
      } catch (error) {
        failure = error as Error;
      }
      for (const w of batch) w.reject(failure);
      return;
    }
    if (reply && 'stale' in reply) {
      for (const w of batch) w.reject(new StaleReplica(`${to} holds an older partition table`));
      return;
    }
    const answers = reply && 'answers' in reply && Array.isArray(reply.answers) ? reply.answers : [];
    batch.forEach((w, i) => {
      const outcome: unknown = answers[i];
      if (typeof outcome === 'object' && outcome !== null) w.resolve(outcome as GridOutcome);
      else w.reject(new Error(`${to} gave no answer for this operation`));
    });
  }
}
