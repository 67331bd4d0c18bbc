import { createHash } from 'node:crypto';
import type { ImdgoCluster, ImdgoStore } from 'imdgo';
import type { StateDigest } from './protocol.ts';

const PAGE = 1000;

/**
 * Hashes every entry this node holds (key, value, version, create and mod revisions), in key order, read
 * locally page by page. Taken again if an entry was applied meanwhile, so the digest belongs to one index.
 */
export async function digestState(store: ImdgoStore, cluster: ImdgoCluster): Promise<StateDigest> {
  for (;;) {
    const appliedIndex = cluster.localStatus().appliedIndex;
    const hash = createHash('sha256');
    let keys = 0;
    let after: string | undefined;
    do {
      const page = await store.entries({ consistency: 'local', limit: PAGE, after });
      for (const e of page.items) {
        hash.update(`${JSON.stringify([e.key, e.value, e.version, e.createRevision, e.modRevision])}\n`);
      }
      keys += page.items.length;
      after = page.cursor ?? undefined;
    } while (after !== undefined);
    if (cluster.localStatus().appliedIndex === appliedIndex) {
      return { digest: hash.digest('hex'), keys, appliedIndex };
    }
  }
}
