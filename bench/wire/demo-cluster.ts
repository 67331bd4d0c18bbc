import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { makeTempDir, terminate, track } from '../../scripts/child-processes.ts';
import { processCpuUs } from '../load/cpu.ts';

const MAIN = fileURLToPath(new URL('../../dist/apps/demo/src/main.js', import.meta.url));
const EXIT_ON_SIGTERM = fileURLToPath(new URL('./exit-on-sigterm.ts', import.meta.url));
const POLL_MS = 100;

export interface DemoNode {
  readonly peer: string;
  readonly url: string;
  readonly process: ChildProcess;
}

/**
 * Three demo app processes (the built `dist/apps/demo`, as `npm run start:node` runs it) on loopback: the
 * REST API the wire table drives. In dataDir mode each keeps its log under its own directory.
 */
export class DemoCluster {
  readonly nodes: readonly DemoNode[];

  private constructor(nodes: readonly DemoNode[]) {
    this.nodes = nodes;
  }

  /**
   * `nodeFlags`: Node flags of each process (heap size, --cpu-prof); `main`: the demo's built entry point,
   * by default this tree's (paired-ab.ts runs another tree's beside it).
   */
  static async start(
    dataDir: string | null,
    verbose: boolean,
    nodeFlags: readonly string[] = [],
    main = MAIN,
  ): Promise<DemoCluster> {
    if (!existsSync(main)) throw new Error(`${main} is missing: npm run bench builds it`);
    const peerPorts = [await freePort(), await freePort(), await freePort()];
    const httpPorts = [await freePort(), await freePort(), await freePort()];
    const members = peerPorts.map((port) => `127.0.0.1:${port}`);
    const root = dataDir === null ? null : makeTempDir(dataDir, 'imdgo-bench-demo-');
    const flags = nodeFlags.includes('--cpu-prof') ? [...nodeFlags, '--import', EXIT_ON_SIGTERM] : nodeFlags;
    const nodes = members.map((peer, i): DemoNode => {
      const args = [
        ...flags,
        main,
        '--id',
        peer,
        '--members',
        members.join(','),
        '--http-port',
        String(httpPorts[i]),
        // One group, as the figures against etcd were measured (the library's default is partitioned).
        '--partitions',
        '1',
      ];
      if (root !== null) args.push('--data-dir', join(root, `demo${i + 1}`));
      const child = track(
        spawn(process.execPath, args, { stdio: ['ignore', verbose ? 'inherit' : 'ignore', 'inherit'] }),
      );
      return { peer, url: `http://127.0.0.1:${httpPorts[i]}`, process: child };
    });
    const cluster = new DemoCluster(nodes);
    await cluster.leader(30_000).catch(async (error: unknown) => {
      await cluster.stop();
      throw error;
    });
    return cluster;
  }

  /** Once every node answers GET /cluster and all name the same leader. */
  async leader(timeoutMs = 10_000): Promise<DemoNode> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const seen = await Promise.all(this.nodes.map((node) => leaderSeenBy(node)));
      const leader = this.nodes.find((node) => node.peer === seen[0]);
      if (leader && seen.every((id) => id === seen[0])) return leader;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`the demo cluster has no agreed leader after ${timeoutMs} ms`);
  }

  async follower(): Promise<DemoNode> {
    const leader = await this.leader();
    return this.nodes.find((node) => node !== leader)!;
  }

  cpuUs(): number {
    return this.nodes.reduce((sum, node) => sum + processCpuUs(node.process.pid!), 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => terminate(node.process)));
  }
}

async function leaderSeenBy(node: DemoNode): Promise<string | null> {
  try {
    const response = await fetch(`${node.url}/cluster`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? ((await response.json()) as { leader: string | null }).leader : null;
  } catch {
    return null; // not listening yet
  }
}
