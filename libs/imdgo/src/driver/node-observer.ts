/** What the driver reports as it works, for metrics. Every method must be cheap: it runs on the hot path. */
export interface NodeObserver {
  /** A write this node started finished (applied), after `seconds`. */
  writeCompleted(seconds: number, forwarded: boolean): void;
  /** A batch of committed entries was applied to the state machine in `seconds`. */
  entriesApplied(count: number, seconds: number): void;
  /** This node, as leader, answered a follower's forwarded write. */
  forwardedWriteServed(): void;
  /** One ReadIndex round started, covering `reads` waiting reads. */
  readIndexRound(reads: number): void;
  /** The known leader changed (including to none). */
  leaderChanged(): void;
  /** A snapshot image was streamed to a follower (as leader), or installed from the leader. */
  snapshotTransferred(direction: 'sent' | 'installed', bytes: number): void;
}

export const NO_OBSERVER: NodeObserver = {
  writeCompleted() {},
  entriesApplied() {},
  forwardedWriteServed() {},
  readIndexRound() {},
  leaderChanged() {},
  snapshotTransferred() {},
};
