import type { ClusterStatus } from '../../driver/cluster-status.ts';
import type { RaftNode } from '../../driver/raft-node.ts';
import { delay, type Scheduler } from '../../driver/scheduler.ts';
import type { PlacementMove } from '../../partition/placement-move.ts';
import type { NodeId } from '../../raft/types.ts';
import type { PeerTransport } from '../../transport/peer-transport.ts';
import { groupHandle, type GroupHandle } from './group-handle.ts';
import type { MoveContext, MoveExecutor } from './move-executor.ts';

export interface RaftMoveExecutorOptions {
  /** This node's replica of a partition, if it holds one (GroupHost.group(p + 1), GridNode.replica(p)). */
  readonly localReplica: (partition: number) => RaftNode | undefined;
  /** The node's transport (the one its GroupHost runs on), for groups this node does not host. */
  readonly transport: PeerTransport;
  readonly scheduler: Scheduler;
  /** How often a learner's catch-up is checked (ms). */
  readonly pollMs: number;
  /** One request to a remote replica (ms). */
  readonly requestTimeoutMs: number;
  /** A move gives up after this long (ms): the loop's move timeout, so nothing outlives it. */
  readonly moveTimeoutMs: number;
}

const has = (status: ClusterStatus, id: NodeId) => status.members.some((m) => m.id === id);
const isVoter = (status: ClusterStatus, id: NodeId) => status.members.some((m) => m.id === id && m.voter);

/**
 * Carries out placement moves on partition groups (this node's replicas, or remote ones) with the groups' own single-server
 * changes: add-learner (as the member's current incarnation), promote once the learner holds everything
 * committed (from the log or a snapshot), remove after leadership moved off the member, transfer-leader.
 * A change refused because the group already is so (an earlier attempt whose answer was lost, or the
 * learner's own join promoting it) counts as done: the group's configuration is checked.
 */
export class RaftMoveExecutor implements MoveExecutor {
  private readonly options: RaftMoveExecutorOptions;

  constructor(options: RaftMoveExecutorOptions) {
    this.options = options;
  }

  async execute(move: PlacementMove, context: MoveContext): Promise<void> {
    const { voters, learners } = context.table.partitions[move.partition] ?? { voters: [], learners: [] };
    const group = groupHandle({
      local: this.options.localReplica(move.partition),
      transport: this.options.transport,
      partition: move.partition,
      replicas: [...voters, ...learners],
      requestTimeoutMs: this.options.requestTimeoutMs,
    });
    const deadline = this.options.scheduler.monotonic() + this.options.moveTimeoutMs;
    switch (move.type) {
      case 'add-learner': {
        const incarnation = context.incarnationOf(move.member);
        if (incarnation === undefined) throw new Error(`${move.member} has no known incarnation`);
        // A formation member that has not announced its process yet (''): a seat without an incarnation
        // would never admit the replica that process starts (it joins as its own incarnation).
        if (incarnation === '') throw new Error(`${move.member} has not announced its process yet`);
        const change = { type: 'add-learner', id: move.member, incarnation } as const;
        return this.changeOrAlready(
          group,
          () => group.change(change),
          (s) => has(s, move.member),
        );
      }
      case 'promote': {
        // The learner was seated as the member's process then: once another one registers, that process is
        // gone and will never catch up; waiting would hold the partition for the whole move timeout.
        const seated = context.incarnationOf(move.member);
        const restarted = () => context.incarnationOf(move.member) !== seated;
        if (!(await this.awaitCaughtUp(group, move.member, deadline, restarted))) return;
        return this.changeOrAlready(
          group,
          () => group.change({ type: 'promote', id: move.member }),
          (s) => isVoter(s, move.member),
        );
      }
      case 'remove': {
        const status = await group.status();
        if (status.leader === move.member) {
          const successor =
            voters.find((id) => id === context.table.partitions[move.partition]!.leader) ??
            voters.find((id) => id !== move.member);
          if (successor === undefined) throw new Error(`no voter to take over from ${move.member}`);
          await group.transfer(successor);
        }
        return this.changeOrAlready(
          group,
          () => group.change({ type: 'remove', id: move.member }),
          (s) => !has(s, move.member),
        );
      }
      case 'transfer-leader': {
        if ((await group.status()).leader === move.to) return;
        const leader = await group.transfer(move.to);
        if (leader !== move.to) throw new Error(`leadership went to ${leader}, not ${move.to}`);
        return;
      }
    }
  }

  /**
   * Waits until `member` holds everything the leader committed. Returns false when it became a voter
   * meanwhile (its own join promoted it: nothing left to do); throws at the deadline, or once `member`
   * restarted as another process.
   */
  private async awaitCaughtUp(
    group: GroupHandle,
    member: NodeId,
    deadline: number,
    restarted: () => boolean,
  ): Promise<boolean> {
    for (;;) {
      if (restarted())
        throw new Error(`${member} restarted as another process: its learner will not catch up`);
      const status = await group.status().catch(() => null);
      const seen = status?.members.find((m) => m.id === member);
      if (status && seen?.voter) return false;
      if (status && seen && seen.matchIndex !== null && seen.matchIndex >= status.commitIndex) return true;
      if (this.options.scheduler.monotonic() >= deadline)
        throw new Error(`${member} did not catch up within ${this.options.moveTimeoutMs} ms`);
      await delay(this.options.scheduler, this.options.pollMs);
    }
  }

  private async changeOrAlready(
    group: GroupHandle,
    change: () => Promise<void>,
    done: (status: ClusterStatus) => boolean,
  ): Promise<void> {
    try {
      await change();
    } catch (error) {
      const status = await group.status().catch(() => null);
      // Only a committed configuration: an appended change its leader may still lose (a `remove` that then
      // never happens) would let the table drop a member the group goes on seating.
      if (status?.role === 'leader' && status.configCommitted && done(status)) return;
      throw error;
    }
  }
}
