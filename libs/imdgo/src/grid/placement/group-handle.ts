import type { ClusterStatus } from '../../driver/cluster-status.ts';
import type { RaftNode } from '../../driver/raft-node.ts';
import type { ConfigChange, NodeId } from '../../raft/types.ts';
import type { PeerTransport } from '../../transport/peer-transport.ts';

/** One partition group as placement drives it, from any node: through its own replica, or a remote one. */
export interface GroupHandle {
  /** The group leader's view (members, match indexes, commit), or a replica's when no leader answers. */
  status(): Promise<ClusterStatus>;
  /** One single-server change, made by the group's leader. */
  change(change: ConfigChange): Promise<void>;
  /** Hands the group's leadership to `to`; resolves with the new leader. */
  transfer(to: NodeId): Promise<NodeId>;
}

/** The group id of partition `partition`: group 0 is the coordination group. */
export const groupOfPartition = (partition: number): number => partition + 1;

/**
 * A handle on partition `partition`'s group: the local replica when this node hosts one (it forwards to
 * the group's leader itself), otherwise requests to the group's replicas in `replicas`, tagged with the group
 * id as GroupMux routes them, and sent on to the leader a replica names.
 */
export function groupHandle(options: {
  /** This node's replica of the partition, if it holds one. */
  readonly local: RaftNode | undefined;
  readonly transport: PeerTransport;
  readonly partition: number;
  readonly replicas: readonly NodeId[];
  readonly requestTimeoutMs: number;
}): GroupHandle {
  const group = groupOfPartition(options.partition);
  const local = options.local;
  if (local) {
    return {
      status: () => local.clusterStatus(),
      change: (change) => local.changeMembership(change),
      transfer: (to) => local.transferLeadership(to),
    };
  }
  const ask = <T>(to: NodeId, body: unknown) =>
    options.transport.request<T>(to, { kind: 'group', group, body }, options.requestTimeoutMs);
  const status = async (): Promise<ClusterStatus> => {
    let failure: unknown = new Error(`partition ${options.partition} has no replica to ask`);
    for (const replica of options.replicas) {
      try {
        const seen = await ask<ClusterStatus>(replica, { kind: 'status' });
        if (seen.leader === null || seen.leader === replica) return seen;
        return await ask<ClusterStatus>(seen.leader, { kind: 'status' });
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  };
  const leader = async (): Promise<NodeId> => {
    const seen = await status();
    if (seen.leader === null) throw new Error(`partition ${options.partition} has no leader`);
    return seen.leader;
  };
  return {
    status,
    change: async (change) => {
      await ask(await leader(), { kind: 'config', change });
    },
    transfer: async (to) => ask<NodeId>(await leader(), { kind: 'transfer', target: to }),
  };
}
