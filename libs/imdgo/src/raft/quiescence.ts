import type { Raft } from './raft.ts';
import type { HeartbeatMessage } from './types.ts';

/**
 * Quiescence (CockroachDB's): an idle group stops ticking, so hundreds of idle groups on a node cost no
 * heartbeats. A leader whose followers all hold, and know committed, its whole log, and have all answered
 * it since it last checked its quorum, sends them one last heartbeat marked `quiesce` and stops: no more
 * heartbeats, no CheckQuorum. A follower that holds exactly that log goes quiet too without answering (one
 * that does not answers as to any heartbeat, which wakes the leader). Quiet followers do not campaign.
 *
 * Any message but a quiesce heartbeat, and any input of the driver (a proposal, a read, a transfer, a
 * configuration change) wakes the group. Liveness is then checked per node pair outside the core: when the
 * node of a quiet group's leader (or, for a quiet leader, of a follower) goes silent, the driver reports
 * `peerUnreachable`, which wakes the group; its follower campaigns soon, and a leader cut off from its
 * quorum steps down by CheckQuorum an election timeout after waking, as it would have without quiescence.
 * Nothing here weakens a ReadIndex round: a read wakes the leader and is confirmed by a fresh heartbeat
 * round as always.
 */
export function mayQuiesce(r: Raft): boolean {
  if (!r.config.quiesce || r.role !== 'leader' || r.discovery !== null) return false;
  if (r.leadTransferee !== null || !r.committedInTerm || !r.reads.idle()) return false;
  const last = r.log.lastIndex();
  if (r.log.committed !== last || r.log.applied !== last || r.log.hasUnstable()) return false;
  for (const pr of r.progress.values()) {
    // recentActive: heard from since the last CheckQuorum window began, so a leader woken because a peer
    // went silent stays awake, and CheckQuorum runs, until that peer answers again.
    if (pr.match !== last || pr.state !== 'replicate' || !pr.recentActive || pr.unadmitted) return false;
  }
  return true;
}

export function quiesceLeader(r: Raft): void {
  const commit = r.log.committed;
  for (const id of r.peers()) {
    r.progress.get(id)!.sentCommit = commit;
    r.send({
      type: 'heartbeat',
      to: id,
      commit,
      readRound: r.reads.round,
      quiesce: true,
      contact: r.contactRound,
    });
  }
  r.quiesced = true;
}

/** Follower, after the heartbeat was handled: goes quiet if it holds and has committed the leader's whole log. */
export function mayQuiesceFollower(r: Raft, m: HeartbeatMessage): boolean {
  return (
    r.config.quiesce &&
    m.quiesce === true &&
    r.role === 'follower' &&
    r.leader === m.from &&
    r.discovery === null &&
    r.log.lastIndex() === m.commit &&
    r.log.committed === m.commit
  );
}

/** Back to ticking, with a fresh election timeout and CheckQuorum window. */
export function wake(r: Raft): void {
  if (!r.quiesced) return;
  r.quiesced = false;
  r.electionElapsed = 0;
  r.heartbeatElapsed = 0;
  for (const pr of r.progress.values()) pr.recentActive = false;
}
