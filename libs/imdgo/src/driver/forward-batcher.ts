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
 */
export class ForwardBatcher {
  private readonly waiting = new Map<NodeId, Waiting[]>();
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

  private flush(leader: NodeId): void {
    const batch = this.waiting.get(leader) ?? [];
    this.waiting.delete(leader);
    const timeoutMs = Math.min(...batch.map((w) => w.timeoutMs));
    const request = packCommands(batch.map((w) => w.data));
    this.transport.request<ForwardOutcome[]>(leader, request, timeoutMs).then(
      (outcomes) => {
        batch.forEach((w, i) => {
          const outcome = Array.isArray(outcomes)
            ? resultOf(outcomes[i], w.command)
            : 'no answer for this write';
          if (typeof outcome === 'string') w.reject(new PeerTransportError('remote', leader, outcome));
          else w.resolve(outcome);
        });
      },
      (error: Error) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}
