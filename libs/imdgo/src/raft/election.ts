import type { Raft } from './raft.ts';
import { tallyVotes } from './quorum.ts';
import type { VoteMessage, VoteResponseMessage } from './types.ts';

/** `pre-election` asks whether we could win before disturbing anyone's term (Raft thesis §9.6). */
export type CampaignKind = 'pre-election' | 'election';

export function campaign(r: Raft, kind: CampaignKind, transfer: boolean): void {
  if (!r.mayCampaign()) return;
  if (kind === 'pre-election') r.becomePreCandidate();
  else r.becomeCandidate();
  const type = kind === 'pre-election' ? 'pre-vote' : 'vote';
  // A pre-vote asks about the term we would campaign in, without having moved to it.
  const term = kind === 'pre-election' ? r.term + 1 : r.term;
  r.votes.set(r.id, true);
  if (concludeIfDecided(r)) return;
  const seats = r.membership.current.incarnations ?? {};
  // Learners are asked too, though only voters' answers count: a learner whose log already promotes it
  // must hear of our term, or two candidates with diverging configurations can step in lockstep forever.
  for (const to of r.peers()) {
    const seat = seats[to];
    const lastIndex = r.log.lastIndex();
    r.send({ type, to, term, lastIndex, lastTerm: r.log.lastTerm(), transfer, ...(seat ? { seat } : {}) });
  }
}

/** Raft §5.2 and §5.4.1: one vote per term, only for a candidate whose log is at least as up to date. */
export function handleVoteRequest(r: Raft, m: VoteMessage): void {
  // Only voters vote, and a node that lost its memory votes again only once readmitted (its old promises
  // are gone). The candidate may be missing from our configuration: ours can be stale (dissertation §4.2.3).
  // So may our own removal, uncommitted: a candidate whose log replaced it still counts us a voter, and
  // may not win without us.
  const eligible =
    r.discovery === null
      ? r.mayCampaign()
      : // Still unaware of its promotion, but seated as this incarnation: its promises are its own.
        m.seat !== undefined && m.seat === r.discovery.incarnation;
  const canVote =
    eligible &&
    (r.vote === m.from ||
      (r.vote === null && r.leader === null) ||
      // A pre-vote for a future term commits us to nothing.
      (m.type === 'pre-vote' && m.term > r.term));
  const upToDate = r.config.testOnlyBugs?.skipLogUpToDateCheck || r.log.isUpToDate(m.lastIndex, m.lastTerm);
  const responseType = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
  if (canVote && upToDate) {
    // Answer in the requested term so that the candidate counts it (for a pre-vote, a term ahead of ours).
    r.send({ type: responseType, to: m.from, term: m.term, granted: true });
    if (m.type === 'vote') {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.send({ type: responseType, to: m.from, granted: false });
  }
}

export function handleVoteResponse(r: Raft, m: VoteResponseMessage): void {
  const expected =
    r.role === 'pre-candidate' ? 'pre-vote-response' : r.role === 'candidate' ? 'vote-response' : null;
  if (m.type !== expected) return;
  r.votes.set(m.from, m.granted);
  concludeIfDecided(r);
}

function concludeIfDecided(r: Raft): boolean {
  const outcome = tallyVotes(r.voters, r.votes);
  if (outcome === 'pending') return false;
  if (outcome === 'lost') {
    r.becomeFollower(r.term, null);
  } else if (r.role === 'pre-candidate') {
    campaign(r, 'election', false);
  } else {
    r.becomeLeader();
  }
  return true;
}
