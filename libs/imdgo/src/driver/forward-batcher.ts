import type { NodeId } from '../raft/types.ts';
import type { CommandResult, KvCommand } from '../state-machine/commands.ts';
import { PeerTransportError } from '../transport/peer-transport-error.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import { packCommands } from './forward-block.ts';
import { resultOf, type ForwardOutcome } from './forward-outcome.ts';
import { systemScheduler, type Scheduler } from './scheduler.ts';

interface Waiting {
  readonly data: Uint8Array;
  /** The command `data` holds, whose value an outcome may refer to. */
  readonly command: KvCommand;
  readonly timeoutMs: number;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Writes a follower forwards to the leader in one event-loop turn travel as one request, a block of
 * their encoded commands (forward-block.ts): a request per write would cost a frame, a packet id and an rxjs pipeline each,
 * on both sides. The answer is one outcome per command, in order (forward-outcome.ts).
 *
 * A batch is given up as a whole once its leader is no longer the one this node knows (`abandon`), so
 * that its writes go to the new leader at once instead of waiting out the request's timeout: one watch
 * per batch, where one per write cost each write a promise, closures and a set entry.
 */
export class ForwardBatcher {
  private readonly waiting = new Map<NodeId, Waiting[]>();
  /** Batches sent and not answered yet, with the leader each went to. */
  private readonly sent = new Map<Waiting[], NodeId>();
  private readonly transport: PeerTransport;
  private readonly scheduler: Scheduler;

  constructor(transport: PeerTransport, scheduler: Scheduler = systemScheduler) {
    this.transport = transport;
    this.scheduler = scheduler;
  }

  forward(leader: NodeId, data: Uint8Array, command: KvCommand, timeoutMs: number): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(leader);
      if (!batch) {
        batch = [];
        this.waiting.set(leader, batch);
        this.scheduler.defer(() => this.flush(leader));
      }
      batch.push({ data, command, timeoutMs, resolve, reject });
    });
  }

  /**
   * Sends the waiting batches now rather than at their turn: the caller is about to run long (apply
   * entries), and the writes' next round trip need not wait for that.
   */
  flushAll(): void {
    for (const leader of this.waiting.keys()) this.flush(leader);
  }

  /**
   * Fails the writes of every batch, sent or not, for a leader other than `leader` with `error(itsLeader)`.
   * The old leader may still apply a sent one: its writer retries under the same session stamp.
   */
  abandon(leader: NodeId | null, error: (oldLeader: NodeId) => Error): void {
    for (const [to, batch] of this.waiting) {
      if (to === leader) continue;
      this.waiting.delete(to);
      for (const w of batch) w.reject(error(to));
    }
    for (const [batch, to] of this.sent) {
      if (to === leader) continue;
      this.sent.delete(batch);
      for (const w of batch) w.reject(error(to));
    }
  }

  private flush(leader: NodeId): void {
    const batch = this.waiting.get(leader);
    // Abandoned meanwhile.
    if (batch === undefined) return;
    this.waiting.delete(leader);
    let timeoutMs = Number.POSITIVE_INFINITY;
    for (const w of batch) timeoutMs = Math.min(timeoutMs, w.timeoutMs);
    const request = packCommands(batch.map((w) => w.data));
    this.sent.set(batch, leader);
    this.transport.request<ForwardOutcome[]>(leader, request, timeoutMs).then(
      (outcomes) => {
        if (!this.sent.delete(batch)) return;
        batch.forEach((w, i) => {
          const outcome = Array.isArray(outcomes)
            ? resultOf(outcomes[i], w.command)
            : 'no answer for this write';
          if (typeof outcome === 'string') w.reject(new PeerTransportError('remote', leader, outcome));
          else w.resolve(outcome);
        });
      },
      (error: Error) => {
        if (!this.sent.delete(batch)) return;
        for (const w of batch) w.reject(error);
      },
    );
  }
}
