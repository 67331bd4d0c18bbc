import { campaign } from './election.ts';
import type { Raft } from './raft.ts';
import { sendAppend } from './replication.ts';
import type { NodeId } from './types.ts';

export type TransferResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'not-leader' | 'unknown-member' | 'not-admitted-voter';
      readonly leader: NodeId | null;
    };

/**
 * Raft thesis §3.10: stop taking proposals, bring the target's log up to date, then tell it to campaign at
 * once. The leader abandons the transfer after an election timeout (see the leader's tick).
 */
export function startLeadershipTransfer(r: Raft, target: NodeId): TransferResult {
  if (r.role !== 'leader') return { ok: false, reason: 'not-leader', leader: r.leader };
  if (target === r.id) return { ok: true };
  const pr = r.progress.get(target);
  if (!pr) return { ok: false, reason: 'unknown-member', leader: r.leader };
  // A learner, or a process not yet readmitted, may not win an election, and must not take the lead.
  if (!r.countsToward(target)) return { ok: false, reason: 'not-admitted-voter', leader: r.leader };
  r.leadTransferee = target;
  r.electionElapsed = 0;
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, target);
  else sendAppend(r, target, false);
  return { ok: true };
}

/** The transfer target a caller may leave to the leader: the admitted voter holding the most of its log. */
export function mostCaughtUpVoter(r: Raft): NodeId | null {
  let best: { id: NodeId; match: number } | null = null;
  for (const [id, pr] of r.progress) {
    if (r.countsToward(id) && (!best || pr.match > best.match)) best = { id, match: pr.match };
  }
  return best?.id ?? null;
}

/** Called when the transferee's match index moves: it may now be ready to take over. */
export function continueLeadershipTransfer(r: Raft, from: NodeId): void {
  if (r.leadTransferee !== from) return;
  if (r.progress.get(from)?.match === r.log.lastIndex()) sendTimeoutNow(r, from);
}

function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'timeout-now', to });
}

/** The transferee skips PreVote and its randomized timeout; `transfer` lets voters ignore their lease. */
export function handleTimeoutNow(r: Raft): void {
  campaign(r, 'election', true);
}
