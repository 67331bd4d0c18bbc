import type { NodeId } from '../raft/types.ts';
import type { CommandResult } from '../state-machine/commands.ts';
import { PeerTransportError } from '../transport/peer-transport-error.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import { systemScheduler, type Scheduler } from './scheduler.ts';

/** The leader's answer to a batch: one outcome per command, in order. */
export type ForwardOutcome = { readonly result: CommandResult } | { readonly error: string };

interface Waiting {
  readonly data: Uint8Array;
  readonly timeoutMs: number;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Writes a follower forwards to the leader in one event-loop turn travel as one request: a request per
 * write would cost a frame, a packet id and an rxjs pipeline each, on both sides.
 */
export class ForwardBatcher {
  private readonly waiting = new Map<NodeId, Waiting[]>();
  private readonly transport: PeerTransport;
  private readonly scheduler: Scheduler;

  constructor(transport: PeerTransport, scheduler: Scheduler = systemScheduler) {
    this.transport = transport;
    this.scheduler = scheduler;
  }

  forward(leader: NodeId, data: Uint8Array, timeoutMs: number): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(leader);
      if (!batch) {
        batch = [];
        this.waiting.set(leader, batch);
        this.scheduler.defer(() => this.flush(leader));
      }
      batch.push({ data, timeoutMs, resolve, reject });
    });
  }

  private flush(leader: NodeId): void {
    const batch = this.waiting.get(leader) ?? [];
    this.waiting.delete(leader);
    const timeoutMs = Math.min(...batch.map((w) => w.timeoutMs));
    const request = { kind: 'propose-batch', data: batch.map((w) => w.data) };
    this.transport.request<ForwardOutcome[]>(leader, request, timeoutMs).then(
      (outcomes) => {
        batch.forEach((w, i) => {
          const outcome = outcomes?.[i];
          if (outcome && 'result' in outcome) w.resolve(outcome.result);
          else
            w.reject(new PeerTransportError('remote', leader, outcome?.error ?? 'no answer for this write'));
        });
      },
      (error: Error) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}
