import type { Raft } from './raft.ts';
import type { NodeId, SnapshotMessage } from './types.ts';

/**
 * Leader: the follower needs entries that were compacted away, so it gets the latest snapshot instead.
 * The message carries only the metadata; the driver streams the image beside it and steps the message
 * into the follower's core when the image has arrived.
 */
export function sendSnapshot(r: Raft, to: NodeId): boolean {
  const snapshot = r.latestSnapshot;
  if (!snapshot) return false;
  r.progress.get(to)!.becomeSnapshot(snapshot.index);
  r.send({ type: 'snapshot', to, snapshot });
  return true;
}

/** Follower side of InstallSnapshot (Raft §7). Answers like an append, with the index now matched. */
export function handleSnapshot(r: Raft, m: SnapshotMessage): void {
  const { index, term, config } = m.snapshot;
  const reply = { type: 'append-response', to: m.from, success: true, hintIndex: 0, hintTerm: 0 } as const;
  if (index <= r.log.committed) {
    r.send({ ...reply, index: r.log.committed });
    return;
  }
  if (r.log.matchTerm(index, term)) {
    // Our log already holds the snapshot's last entry: keep what follows, just commit up to it.
    r.log.commitTo(index);
  } else {
    r.log.restore(index, term);
    r.membership.restore(index, config);
    r.latestSnapshot = m.snapshot;
    r.pendingRestore = m.snapshot;
  }
  // This leader's snapshot proves our log matches its log up to `index`.
  r.verifiedIndex = Math.max(r.verifiedIndex, index);
  r.send({ ...reply, index });
}
