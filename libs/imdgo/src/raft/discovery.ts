import { isMember } from './membership.ts';
import { majority } from './quorum.ts';
import type { Raft } from './raft.ts';
import type { JoinMessage, NodeId, ProbeResponseMessage } from './types.ts';

/**
 * How a node that starts without state finds its place: a node that lost its memory (a restart in memory
 * mode, or a wiped data directory) must not vote or count toward any majority on the strength of promises
 * it no longer remembers. So such a node never resumes its old seat: it joins as a new member.
 *
 * - It probes every configured member. If one of them belongs to a cluster, it asks the leader to admit
 *   it; the leader removes its old seat if it had one, adds it as a learner with this incarnation, and
 *   promotes it once it has caught up (each step a single-server change), unless the voters are at
 *   `maxVoters`: it then stays a learner until a voter leaves.
 * - If every member is as fresh as itself, the coordinator (the lowest member id) bootstraps a
 *   one-voter cluster, and the others join it.
 * - Fresh means holding nothing of any cluster (an empty log), even while waiting to be admitted: so members
 *   that all lost their memory while joining one another do not wait for each other forever. A node that
 *   heard of a cluster and then finds every member fresh knows that cluster is gone, with its data.
 * - Every member fresh at once is what proves the old cluster gone, and answers arrive at different times:
 *   a member may answer fresh and join the old cluster before another answers. So each member's process
 *   must answer fresh twice, the second time to a probe sent after every member's first fresh answer came
 *   in. A process never turns fresh again once it holds a log, so each was fresh throughout, and all of
 *   them at the moment that probe round was sent: no member held the old cluster then, and none can
 *   since, for a log comes only from a member that holds one.
 */
export class Discovery {
  readonly incarnation: string;
  private readonly members: readonly NodeId[];
  /** Each member's newest answer: fresh or not, and its round (for an answer as a member, when it came). */
  private readonly answers = new Map<NodeId, { readonly round: number; readonly fresh: boolean }>();
  /** Per member, the process that answered fresh: when its first fresh answer came, its newest fresh round. */
  private readonly freshProcesses = new Map<NodeId, FreshProcess>();
  private joinTarget: NodeId | null = null;
  /** A member answered as part of a cluster: this node is joining it. */
  private heardOfCluster = false;
  /**
   * The round in which the latest answer as a member came. A fresh answer to a probe of that round or an
   * earlier one may predate a join: the member may hold the cluster's log by now.
   */
  private clusterRound = Number.NEGATIVE_INFINITY;
  private elapsed = 0;
  /**
   * Probe rounds are numbered: answers are delayed and duplicated like any message, and a member's "fresh"
   * from before it formed or joined a cluster must not count once it answered otherwise. The first round is
   * drawn at random so that a previous process's late answers fall outside this one's rounds.
   */
  private readonly firstRound: number;
  private round: number;

  constructor(selfId: NodeId, members: readonly NodeId[], incarnation: string, firstRound: number) {
    this.members = members.filter((id) => id !== selfId);
    this.incarnation = incarnation;
    this.firstRound = firstRound;
    this.round = firstRound;
  }

  /** Whether a member answered as part of a cluster, which this node is then trying to join. */
  get joining(): boolean {
    return this.heardOfCluster;
  }

  /** Returns true when this node should bootstrap a new cluster now. */
  tick(r: Raft): boolean {
    this.elapsed++;
    if (this.elapsed < r.config.heartbeatTicks * 2) return false;
    this.elapsed = 0;
    if (this.allFresh()) {
      // Whoever answered as a member earlier has since lost its memory too: the cluster is gone.
      if (this.heardOfCluster) r.lostCluster = true;
      this.heardOfCluster = false;
      this.joinTarget = null;
      if (this.isCoordinator(r.id)) return true;
    }
    this.round++;
    const round = this.round;
    if (this.joinTarget !== null) {
      r.send({ type: 'join', to: this.joinTarget, term: 0, incarnation: this.incarnation, round });
    }
    // Probing goes on while joining: the leader may change, or be unknown to whoever answered first.
    const incarnation = this.incarnation;
    for (const to of this.members) r.send({ type: 'probe', to, term: 0, round, incarnation });
    return false;
  }

  onProbeResponse(m: ProbeResponseMessage): void {
    // An answer to an earlier process of this member, whose rounds this one's may repeat (a fixed random seed).
    if (m.prober !== this.incarnation) return;
    if (m.round < this.firstRound || m.round > this.round) return;
    const newest = this.answers.get(m.from);
    // A process that holds a cluster's log never becomes fresh again, so an answer as a member, to any
    // round, is newer than every fresh answer to probes sent so far (their copies may have been answered
    // first, and arrive in any order). Only a fresh answer to a later probe shows it lost its memory since.
    if (!m.fresh) {
      this.answers.set(m.from, { round: this.round, fresh: false });
      this.clusterRound = this.round;
      this.freshProcesses.delete(m.from);
    } else if (newest === undefined || m.round > newest.round) this.answers.set(m.from, m);
    if (m.fresh) return this.noteFresh(m);
    // A cluster exists: ask its leader, once someone names one.
    this.heardOfCluster = true;
    if (m.leader !== null) this.joinTarget = m.leader;
    else if (m.from === this.joinTarget) this.joinTarget = null;
  }

  /** A fresh answer from a process not heard fresh before starts its record anew: it may have been restarted. */
  private noteFresh(m: ProbeResponseMessage): void {
    if (m.incarnation === undefined) return;
    const known = this.freshProcesses.get(m.from);
    if (known?.incarnation === m.incarnation) {
      known.newestRound = Math.max(known.newestRound, m.round);
      return;
    }
    this.freshProcesses.set(m.from, {
      incarnation: m.incarnation,
      firstHeardIn: this.round,
      newestRound: m.round,
    });
  }

  private isCoordinator(id: NodeId): boolean {
    return this.members.every((other) => id < other);
  }

  private allFresh(): boolean {
    // Fresh now: a fresh newest answer to this round or the one before (a reply may take a round to come),
    // to a probe sent after the last answer as a member came in. A member that answered fresh, then joined
    // the cluster and was cut off before the next round, still holds it: its early answer must not count
    // (found by the driver simulator, seed 18053786, where the prober was paused between two rounds).
    const recentlyFresh = this.members.every((id) => {
      const newest = this.answers.get(id);
      return (
        newest !== undefined &&
        newest.fresh &&
        newest.round >= this.round - 1 &&
        newest.round > this.clusterRound
      );
    });
    return recentlyFresh && this.freshAtOnce();
  }

  /**
   * Every member's process answered fresh to a round sent after the first fresh answers of all of them
   * came in (see the class comment): at the moment that round was sent, no member held any log.
   */
  private freshAtOnce(): boolean {
    let lastFirstHeard = Number.NEGATIVE_INFINITY;
    for (const id of this.members) {
      const fresh = this.freshProcesses.get(id);
      if (fresh === undefined) return false;
      lastFirstHeard = Math.max(lastFirstHeard, fresh.firstHeardIn);
    }
    return this.members.every((id) => this.freshProcesses.get(id)!.newestRound > lastFirstHeard);
  }
}

interface FreshProcess {
  readonly incarnation: string;
  /** This node's round when the process's first fresh answer came: later rounds' probes left after it. */
  readonly firstHeardIn: number;
  newestRound: number;
}

/** Any node answers a probe: fresh while it holds nothing of any cluster, otherwise with its leader. */
export function answerProbe(r: Raft, to: NodeId, round: number, prober: string): void {
  const fresh = r.discovery !== null && r.log.lastIndex() === 0;
  const incarnation = r.config.discovery?.incarnation;
  r.send({
    type: 'probe-response',
    to,
    term: 0,
    round,
    fresh,
    leader: fresh ? null : r.leader,
    ...(incarnation === undefined ? {} : { incarnation }),
    prober,
  });
}

/**
 * Leader side of a join: one configuration step per request (the joiner repeats its request until it is a
 * voter): remove a seat held by an earlier incarnation, then add the joiner as a learner. Promotion follows
 * in `maybePromote` once it has caught up.
 */
export function handleJoin(r: Raft, m: JoinMessage): void {
  if (r.role !== 'leader') {
    answerProbe(r, m.from, m.round, m.incarnation);
    return;
  }
  const config = r.membership.current;
  if (isMember(config, m.from)) {
    // Seated already: its promotion may have been refused while another change was pending; retry it.
    if (config.incarnations?.[m.from] === m.incarnation) return maybePromote(r, m.from);
    // The seat goes only once this process answered last for the member: a join still in flight from a
    // process that is gone must not remove the current one. A live joiner answers our heartbeats.
    if (r.progress.get(m.from)?.incarnation !== m.incarnation) return;
    r.proposeConfigChange({ type: 'remove', id: m.from });
    return;
  }
  r.proposeConfigChange({ type: 'add-learner', id: m.from, incarnation: m.incarnation });
}

/** Promotes a learner that joined on its own once it holds everything committed, while voters are wanted. */
export function maybePromote(r: Raft, id: NodeId): void {
  const config = r.membership.current;
  const incarnation = config.incarnations?.[id];
  if (!config.learners.includes(id) || incarnation === undefined) return;
  if (votersFull(r)) return;
  const pr = r.progress.get(id);
  // Caught up as the process that joined: a later one answering for the member (a wiped restart, still to
  // rejoin) must not promote a seat whose process is gone, which would leave the voters short of a majority.
  if (!pr || pr.incarnation !== incarnation || pr.match < r.log.committed) return;
  if (!promotionKeepsMajority(r)) return;
  r.proposeConfigChange({ type: 'promote', id });
}

/**
 * A promotion makes the majority one larger. The voters heard from lately must make it without the one
 * promoted (etcd's strict reconfiguration check), for the leader cannot know that the learner's process
 * is gone already: a memory-mode restart it has not heard from yet. With another voter down, that seat
 * and the promoted one would leave no majority that could ever form (found by the core simulator). Going
 * from one voter to two is the exception: single-server changes have no other way.
 */
function promotionKeepsMajority(r: Raft): boolean {
  const { voters } = r.membership.current;
  if (voters.length === 1) return true;
  let heard = 0;
  for (const id of voters) {
    if (id === r.id || (r.progress.get(id)?.recentActive === true && r.countsToward(id))) heard++;
  }
  return heard >= majority(voters.length + 1);
}

/**
 * A joining node becomes a full member once its log admits this incarnation as a voter, or as a learner
 * while the voters are at `maxVoters` (it is promoted later, if ever, as any seated learner).
 */
export function isAdmitted(r: Raft, incarnation: string): boolean {
  const config = r.membership.current;
  if (config.incarnations?.[r.id] !== incarnation) return false;
  return config.voters.includes(r.id) || (config.learners.includes(r.id) && votersFull(r));
}

/** The configuration holds `discovery.maxVoters` voters already: joiners stay learners. */
function votersFull(r: Raft): boolean {
  const max = r.config.discovery?.maxVoters;
  return max !== undefined && r.membership.current.voters.length >= max;
}
