import type { RaftNode } from '../libs/imdgo/src/driver/raft-node.ts';
import type { ImdgoRuntime } from '../libs/imdgo/src/nest/imdgo-runtime.ts';
import type { StateDigest } from './protocol.ts';

/**
 * The state machine's own digest of everything replicated (entries with their versions, revisions and
 * `expiresAt`, the TTL order, byte counts and the exactly-once session table), taken synchronously, so
 * it belongs to exactly the applied index it reports.
 */
export function digestState(runtime: ImdgoRuntime): StateDigest[] {
  const { grid } = runtime;
  if (grid === null) return [digestGroup('all', runtime.node)];
  const digests = [digestGroup('coordination', grid.coordination)];
  for (let partition = 0; partition < grid.partitions; partition++) {
    const replica = grid.replica(partition);
    if (replica) digests.push(digestGroup(`partition ${partition}`, replica));
  }
  return digests;
}

/** Every group this node may hold: what the comparison expects someone to hold. */
export function groupNames(partitions: number): string[] {
  if (partitions === 1) return ['all'];
  return ['coordination', ...Array.from({ length: partitions }, (_, p) => `partition ${p}`)];
}

function digestGroup(group: string, node: RaftNode): StateDigest {
  const { machine } = node;
  const keys = machine.mapNames().reduce((sum, map) => sum + machine.size(map), 0);
  return { group, digest: machine.digest(), keys, appliedIndex: machine.appliedIndex };
}
