import { randomBytes } from 'node:crypto';
import type { SessionStamp } from '../state-machine/commands.ts';

/**
 * This node's identity as a client of the replicated state machine: every write gets the next sequence
 * number, and carries the lowest one still unanswered so the state machine can forget older results.
 */
export class ClientSession {
  private readonly client: string;
  private nextSeq = 1;
  private lowestUnanswered = 1;
  private readonly inFlight = new Set<number>();

  // 72 random bits: unique enough for the life of a cluster, and short, since every write carries it.
  constructor(client: string = randomBytes(9).toString('base64url')) {
    this.client = client;
  }

  begin(): SessionStamp {
    const seq = this.nextSeq++;
    this.inFlight.add(seq);
    return { client: this.client, seq, firstUnacked: this.lowestUnanswered };
  }

  /** Called once the write has an answer (or was given up): its result need not be kept any more. */
  end(seq: number): void {
    this.inFlight.delete(seq);
    while (this.lowestUnanswered < this.nextSeq && !this.inFlight.has(this.lowestUnanswered)) {
      this.lowestUnanswered++;
    }
  }
}
