import { quorumMin } from './quorum.ts';
import type { Raft } from './raft.ts';
import { broadcastHeartbeat } from './replication.ts';
import type { NodeId } from './types.ts';

interface PendingRead {
  readonly requestId: number;
  /** Who asked: this leader, or a follower reading on behalf of its clients. */
  readonly requester: NodeId;
  /** The requester's read nonce, echoed in the answer (see Raft.readNonce). */
  readonly nonce: number;
  /** The commit index when the read arrived: the state the read must at least see. */
  readonly index: number;
  readonly round: number;
}

/**
 * Linearizable reads without writing to the log (Raft thesis §6.4, etcd's ReadOnlySafe). A read records
 * the commit index, then waits until a majority has answered a heartbeat sent after it: proof that no
 * newer leader existed when the read arrived.
 *
 * Batching: reads arriving between two Ready()s share one round, so one heartbeat broadcast confirms all
 * of them; the driver additionally folds many client reads into one request id.
 */
export class ReadIndexQueue {
  /** The newest round started; heartbeats carry it, and followers echo it back. */
  round = 0;
  private roundBroadcast = true;
  private readonly confirming: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its own term. */
  private readonly awaitingTermCommit: { requestId: number; requester: NodeId; nonce: number }[] = [];
  private readonly raft: Raft;

  constructor(raft: Raft) {
    this.raft = raft;
  }

  request(requestId: number, requester: NodeId, nonce: number): void {
    const r = this.raft;
    if (!r.committedInTerm) {
      // Until then the leader's commit index may lag what earlier leaders committed.
      this.awaitingTermCommit.push({ requestId, requester, nonce });
      return;
    }
    // A lone voter is its own majority, but only if it is this leader: a configuration takes effect when
    // appended, so a leader that appended its own removal must ask the remaining voter.
    const loneVoter = r.isVoter() || r.config.testOnlyBugs?.singleVoterReadWithoutMembership;
    if (r.voters.length === 1 && loneVoter) {
      this.answer({ requestId, requester, nonce, index: r.log.committed, round: this.round });
      return;
    }
    if (this.roundBroadcast) {
      this.round++;
      this.roundBroadcast = false;
    }
    this.confirming.push({ requestId, requester, nonce, index: r.log.committed, round: this.round });
  }

  /** No read waits for confirmation or for this leader's first commit. */
  idle(): boolean {
    return this.confirming.length === 0 && this.awaitingTermCommit.length === 0;
  }

  hasUnsentRound(): boolean {
    return !this.roundBroadcast && this.confirming.length > 0;
  }

  /** Called when the driver takes a Ready: the heartbeat of the open round goes out now. */
  flush(): void {
    if (this.roundBroadcast || this.confirming.length === 0) return;
    this.roundBroadcast = true;
    broadcastHeartbeat(this.raft);
  }

  onRoundAcknowledged(from: NodeId, round: number): void {
    const pr = this.raft.progress.get(from);
    if (!pr || round <= pr.readRound) return;
    pr.readRound = round;
    const confirmed = this.confirmedRound();
    let released = 0;
    while (released < this.confirming.length && this.confirming[released]!.round <= confirmed) {
      this.answer(this.confirming[released]!);
      released++;
    }
    this.confirming.splice(0, released);
  }

  onCommittedInTerm(): void {
    for (const { requestId, requester, nonce } of this.awaitingTermCommit.splice(0))
      this.request(requestId, requester, nonce);
  }

  /** Leadership lost: this node's own waiting reads fail; followers' requests time out on their side. */
  dropAll(): void {
    for (const read of this.confirming)
      if (read.requester === this.raft.id) this.raft.droppedReads.push(read.requestId);
    for (const read of this.awaitingTermCommit) {
      if (read.requester === this.raft.id) this.raft.droppedReads.push(read.requestId);
    }
    this.confirming.length = 0;
    this.awaitingTermCommit.length = 0;
    this.roundBroadcast = true;
  }

  /** The newest round a majority of voters (this leader included) has confirmed. */
  private confirmedRound(): number {
    const r = this.raft;
    return quorumMin(r.voters, (id) =>
      id === r.id ? this.round : r.countsToward(id) ? (r.progress.get(id)?.readRound ?? 0) : 0,
    );
  }

  private answer(read: PendingRead): void {
    if (read.requester === this.raft.id) {
      this.raft.readStates.push({ requestId: read.requestId, index: read.index });
    } else {
      this.raft.send({
        type: 'read-index-response',
        to: read.requester,
        requestId: read.requestId,
        nonce: read.nonce,
        index: read.index,
      });
    }
  }
}
