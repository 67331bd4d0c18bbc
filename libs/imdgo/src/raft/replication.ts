import { continueLeadershipTransfer } from './leadership-transfer.ts';
import { sendSnapshot } from './snapshot.ts';
import { maybePromote } from './discovery.ts';
import { mayQuiesceFollower } from './quiescence.ts';
import type { Raft } from './raft.ts';
import type {
  AppendMessage,
  AppendResponseMessage,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  NodeId,
  SenderIncarnation,
} from './types.ts';

/**
 * Sends the follower the entries it is missing, as many as fit in one message. With `sendIfEmpty` an
 * append goes out even with no entries (a probe, or to carry the commit index).
 * Returns whether a message was sent.
 */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.progress.get(to)!;
  if (pr.isPaused()) return false;
  // The entry before `next` was compacted away: its term is unknown, so only a snapshot can help.
  if (pr.next - 1 < r.log.offset) return sendSnapshot(r, to);
  const entries = r.log.slice(pr.next, r.config.maxMessageBytes);
  if (entries.length === 0 && !sendIfEmpty) return false;
  const prevIndex = pr.next - 1;
  const lastIndex = prevIndex + entries.length;
  r.send({
    type: 'append',
    to,
    prevIndex,
    prevTerm: r.log.term(prevIndex),
    entries,
    commit: r.log.committed,
    contact: r.contactRound,
  });
  pr.sentCommit = Math.max(pr.sentCommit, Math.min(r.log.committed, lastIndex));
  pr.sentAppend(lastIndex, entries.length);
  return true;
}

/**
 * Before the leader's effects are handed out: stream new entries to every follower (one batch per follower
 * for everything proposed since the last Ready), and tell followers that got nothing of a commit that moved.
 */
export function flushReplication(r: Raft): void {
  for (const [id, pr] of r.progress) {
    while (pr.state === 'replicate' && sendAppend(r, id, false)) {
      // Pipelining: keep sending while the in-flight window has room and entries remain.
    }
    if (pr.state === 'probe' && pr.next <= r.log.lastIndex()) sendAppend(r, id, false);
    if (r.commitChanged && pr.sentCommit < Math.min(r.log.committed, pr.match)) sendHeartbeat(r, id);
  }
  r.commitChanged = false;
}

export function broadcastHeartbeat(r: Raft): void {
  r.contactRound++;
  for (const id of r.peers()) sendHeartbeat(r, id);
}

function sendHeartbeat(r: Raft, to: NodeId): void {
  const pr = r.progress.get(to)!;
  // Never more than the follower is known to hold: it may not have the leader's later entries yet.
  const commit = Math.min(pr.match, r.log.committed);
  pr.sentCommit = Math.max(pr.sentCommit, commit);
  r.send({ type: 'heartbeat', to, commit, readRound: r.reads.round, contact: r.contactRound });
}

/** Follower side of AppendEntries (Raft Figure 2, receiver rules 2-5). */
export function handleAppend(r: Raft, m: AppendMessage): void {
  const reply = { type: 'append-response', to: m.from } as const;
  if (m.prevIndex < r.log.committed) {
    r.send({ ...reply, success: true, index: r.log.committed, hintIndex: 0, hintTerm: 0 });
    return;
  }
  if (r.log.matchTerm(m.prevIndex, m.prevTerm)) {
    const lastNewIndex = r.log.appendFromLeader(
      m.prevIndex,
      m.entries,
      (entry) => r.membership.onAppended(entry),
      () => r.membership.onTruncated((index) => r.log.term(index)),
    );
    r.verifiedIndex = Math.max(r.verifiedIndex, lastNewIndex);
    r.log.commitTo(Math.min(m.commit, r.verifiedIndex));
    r.send({ ...reply, success: true, index: lastNewIndex, hintIndex: 0, hintTerm: 0 });
    return;
  }
  const hintIndex = r.log.findConflictByTerm(Math.min(m.prevIndex, r.log.lastIndex()), m.prevTerm);
  r.send({ ...reply, success: false, index: m.prevIndex, hintIndex, hintTerm: r.log.term(hintIndex) });
}

export function handleHeartbeat(r: Raft, m: HeartbeatMessage): void {
  const verified = r.config.testOnlyBugs?.commitOnStaleMatch ? r.log.lastIndex() : r.verifiedIndex;
  r.log.commitTo(Math.min(m.commit, verified, r.log.lastIndex()));
  if (mayQuiesceFollower(r, m)) {
    r.quiesced = true;
    return;
  }
  r.send({ type: 'heartbeat-response', to: m.from, readRound: m.readRound, commit: r.log.committed });
}

export function handleAppendResponse(r: Raft, m: AppendResponseMessage): void {
  const pr = r.progress.get(m.from);
  if (!pr || !acceptSender(r, m.from, m)) return;
  pr.recentActive = true;
  if (!m.success) {
    // The follower told us the last index where its log might match ours; skip to the leader's last
    // entry of a term no newer than the follower's there.
    const probeFrom = m.hintTerm > 0 ? r.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
    if (pr.maybeDecrement(m.index, probeFrom)) sendAppend(r, m.from, true);
    return;
  }
  const wasProbing = pr.state === 'probe';
  if (!pr.maybeUpdate(m.index)) return;
  if (wasProbing) pr.becomeReplicate();
  // A moved commit index reaches the followers in flushReplication, once for the whole batch; so does one
  // that moved before this follower's ack arrived, or the follower would wait for the next heartbeat.
  if (pr.sentCommit < Math.min(r.log.committed, pr.match)) r.commitChanged = true;
  r.maybeCommit();
  maybePromote(r, m.from);
  continueLeadershipTransfer(r, m.from);
}

export function handleHeartbeatResponse(r: Raft, m: HeartbeatResponseMessage): void {
  const pr = r.progress.get(m.from);
  if (!pr || !acceptSender(r, m.from, m)) return;
  pr.recentActive = true;
  pr.onHeartbeatResponse();
  // An empty append at `next` makes a follower that lost appends reject, and the leader then probes back;
  // one that could not commit what the heartbeat offered (it restarted) verifies its log with it.
  const lagging = m.commit < Math.min(pr.match, r.log.committed);
  if (pr.match < r.log.lastIndex() || lagging) sendAppend(r, m.from, true);
  r.reads.onRoundAcknowledged(m.from, m.readRound);
}

/**
 * Which process of member `id` answered. Returns false for an answer from a process not shown to be newer
 * than the one that answered last: a member runs one process at a time, so one that answered a contact
 * round sent after the last answer of the other came in started after that one ended. Then whatever the
 * older one held is gone, and its delayed answers, which cannot show as much, are dropped. The order is
 * not taken from which answer came first: an earlier process's answer may arrive after a newer one's
 * (they would retire the newer process for good, review of the core). A rejoining follower counts toward
 * majorities once it answers as admitted; its earlier acknowledgements (the promotion entry itself among
 * them) may now complete a majority.
 */
export function acceptSender(r: Raft, id: NodeId, m: SenderIncarnation): boolean {
  const pr = r.progress.get(id)!;
  const sender = m.incarnation ?? '';
  if (pr.incarnation === null) {
    pr.incarnation = sender;
  } else if (pr.incarnation !== sender) {
    if ((m.contact ?? 0) <= pr.heardInRound) return false;
    pr.restartedAs(sender);
  }
  pr.heardInRound = r.contactRound;
  const unadmitted = !r.isSeated(id, m.incarnation);
  const admittedNow = pr.unadmitted && !unadmitted;
  pr.unadmitted = unadmitted;
  if (admittedNow) r.maybeCommit();
  return true;
}
