import { assert } from './assert.ts';

/**
 * The leader's view of one follower (etcd's Progress). In `probe` the leader sends one append per
 * heartbeat until it finds where the logs match; in `replicate` it streams appends optimistically,
 * bounded by a window of in-flight messages.
 */
export class Progress {
  match = 0;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot' = 'probe';
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** In probe: an append is outstanding, wait for its answer or the next heartbeat. */
  probeSent = false;
  /** Set by any message from the follower; CheckQuorum reads and clears it once per election timeout. */
  recentActive = false;
  /**
   * The follower answers as a node that lost its memory and awaits readmission: its acknowledgements move
   * replication along but count toward no majority (commit, reads, CheckQuorum).
   */
  unadmitted = false;
  /**
   * The process of the member that answered last ('' for a node without incarnation), null until one
   * answers in this term.
   */
  incarnation: string | null = null;
  /** The leader's contact round when that process's latest answer came (replication.ts acceptSender). */
  heardInRound = 0;
  /** Highest commit index already sent to the follower, so a moved commit is announced once. */
  sentCommit = 0;
  /** Newest ReadIndex round the follower confirmed. */
  readRound = 0;
  /** Last index of each append in flight, oldest first (replicate state only). */
  private readonly inflight: number[] = [];
  private readonly maxInflight: number;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.maxInflight = maxInflight;
  }

  isPaused(): boolean {
    if (this.state === 'snapshot') return true;
    return this.state === 'probe' ? this.probeSent : this.inflight.length >= this.maxInflight;
  }

  /** The follower needs entries the leader compacted: it gets the snapshot, and nothing else meanwhile. */
  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.inflight.length = 0;
  }

  /**
   * The driver finished streaming the snapshot. Either way the leader probes next: after a success from
   * just past the snapshot, once the follower answers or a heartbeat shows it alive.
   */
  snapshotFinished(ok: boolean): void {
    const sent = this.pendingSnapshot;
    this.becomeProbe();
    if (ok) {
      this.next = Math.max(this.next, sent + 1);
      this.probeSent = true;
    }
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = this.match + 1;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = this.match + 1;
  }

  /** Records an append whose last entry is `lastIndex` (or a probe when `lastIndex` is 0). */
  sentAppend(lastIndex: number, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** A successful append response: returns whether the match index moved. */
  maybeUpdate(index: number): boolean {
    if (this.state === 'snapshot' && index >= this.pendingSnapshot) this.becomeProbe();
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    let freed = 0;
    while (freed < this.inflight.length && this.inflight[freed]! <= index) freed++;
    this.inflight.splice(0, freed);
    return updated;
  }

  /**
   * A rejected append for `rejected` (its prevIndex), with the follower's hint. Returns false when the
   * rejection is stale (answers an append that no longer reflects the leader's view).
   */
  maybeDecrement(rejected: number, probeFrom: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeFrom + 1), this.match + 1);
    assert(this.next >= 1, 'next index below 1');
    this.probeSent = false;
    return true;
  }

  /** The member restarted without its state: forget what it held and probe it from the start. */
  restartedAs(incarnation: string): void {
    this.incarnation = incarnation;
    this.match = 0;
    this.sentCommit = 0;
    this.readRound = 0;
    this.becomeProbe();
  }

  /** A heartbeat answer proves the follower is alive: let one more append through if we were stuck. */
  onHeartbeatResponse(): void {
    if (this.state === 'snapshot') return;
    this.probeSent = false;
    if (this.inflight.length >= this.maxInflight) this.inflight.shift();
  }
}
