import type { ChaosCluster } from './cluster.ts';
import type { History } from './history.ts';
import { RequestFailed } from './node-process.ts';
import type { ClientOp } from './protocol.ts';

const READERS = 8;
const ATTEMPTS = 5;

/**
 * Reads every key once more, linearizably, through the nodes in turn, after the faults and the load have
 * stopped and the cluster converged; the reads go into the history too. Returns the values read, and the
 * keys that could not be read.
 */
export async function readFinalValues(
  cluster: ChaosCluster,
  history: History,
  keys: readonly string[],
  timeoutMs: number,
): Promise<{ values: Map<string, number | null>; unread: string[] }> {
  const values = new Map<string, number | null>();
  const unread: string[] = [];
  const queue = [...keys];
  let turn = 0;
  const reader = async () => {
    const process = history.newProcess();
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      const op: ClientOp = { f: 'get', key };
      let value: number | null | undefined;
      for (let attempt = 0; attempt < ATTEMPTS && value === undefined; attempt++) {
        const node = cluster.nodes[turn++ % cluster.nodes.length]!;
        history.invoke(process, op);
        try {
          const result = await node.request({ kind: 'op', op }, timeoutMs);
          if (!('read' in result)) throw new Error(`a get answered ${JSON.stringify(result)}`);
          value = result.read;
          history.complete(process, op, 'ok', { value, version: result.version });
        } catch (error) {
          if (!(error instanceof RequestFailed)) throw error;
          history.complete(process, op, 'fail');
        }
      }
      if (value === undefined) unread.push(key);
      else values.set(key, value);
    }
  };
  await Promise.all(Array.from({ length: READERS }, reader));
  return { values, unread };
}
