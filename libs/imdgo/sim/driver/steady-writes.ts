import type { GridCluster } from './grid-cluster.ts';

/**
 * A write of a new key every `everyMs` of virtual time, through the running nodes in turn, whatever it
 * answers (the load that restarts and moves must go on under). Returns what stops it.
 */
export function steadyWrites(cluster: GridCluster, everyMs: number): () => void {
  let writing = true;
  let written = 0;
  const write = (): void => {
    if (!writing) return;
    const alive = cluster.alive();
    const via = cluster.node(alive[written % alive.length]!);
    const key = `k${++written}`;
    void via.write(via.partitionOf('', key), { op: 'set', map: '', key, value: written }).catch(() => {});
    cluster.time.at(cluster.time.now + everyMs, write);
  };
  write();
  return () => {
    writing = false;
  };
}
