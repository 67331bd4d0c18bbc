import type { Ready, SnapshotMeta } from '../raft/types.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';

/**
 * Makes a Ready durable in etcd's order: the snapshot it carries first, then its entries and hard state.
 * Every crash point is then safe: the hard state can name the snapshot's index as committed only once the
 * snapshot is stored, and the truncation an installed snapshot writes precedes the entries after it.
 * Undefined when the storage wrote everything at once (memory): the caller need not yield to anything.
 */
export function persistReady(
  storage: RaftStorage,
  ready: Pick<Ready, 'hardState' | 'entries' | 'snapshot'>,
  installSnapshot: (snapshot: SnapshotMeta) => Promise<void>,
  /** Test-only: the old, unsafe order (issue 10, bug 2), for the simulator to prove it is caught. */
  snapshotLast = false,
): Promise<void> | undefined {
  if (ready.snapshot)
    return persistWithSnapshot(storage, ready, ready.snapshot, installSnapshot, snapshotLast);
  return storage.save(ready.hardState, ready.entries) ?? undefined;
}

async function persistWithSnapshot(
  storage: RaftStorage,
  ready: Pick<Ready, 'hardState' | 'entries'>,
  snapshot: SnapshotMeta,
  installSnapshot: (snapshot: SnapshotMeta) => Promise<void>,
  snapshotLast: boolean,
): Promise<void> {
  if (!snapshotLast) await installSnapshot(snapshot);
  await storage.save(ready.hardState, ready.entries);
  if (snapshotLast) await installSnapshot(snapshot);
}
