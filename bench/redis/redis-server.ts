import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../libs/imdgo/testing/free-port.ts';
import { processCpuUs } from '../load/cpu.ts';
import { processRssBytes } from '../memory/process-rss.ts';
import { makeTempDir, removeTempDir, terminate, track } from '../../scripts/child-processes.ts';

const START_TIMEOUT_MS = 10_000;

/** One redis-server on a loopback port, in memory only (no RDB snapshots, no AOF). */
export class RedisServer {
  readonly port: number;
  private readonly child: ChildProcess;
  private readonly dir: string;

  private constructor(port: number, child: ChildProcess, dir: string) {
    this.port = port;
    this.child = child;
    this.dir = dir;
  }

  static async start(binary: string, verbose: boolean): Promise<RedisServer> {
    const port = await freePort();
    const dir = makeTempDir('/dev/shm', 'imdgo-bench-redis-');
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ];
    const child = track(
      spawn(binary, args, { stdio: ['ignore', verbose ? 'inherit' : 'ignore', 'inherit'] }),
    );
    const server = new RedisServer(port, child, dir);
    // ioredis queues the ping and reconnects until the server listens.
    const probe = server.client();
    // Refused connections before the server listens are expected; the queued ping waits them out.
    probe.on('error', () => {});
    const timeout = setTimeout(() => probe.disconnect(), START_TIMEOUT_MS);
    try {
      await probe.ping();
    } catch (error) {
      throw new Error(`redis-server did not answer within ${START_TIMEOUT_MS} ms`, { cause: error });
    } finally {
      clearTimeout(timeout);
      probe.disconnect();
    }
    return server;
  }

  /** CPU µs used so far by the server. */
  cpuUs(): number {
    return processCpuUs(this.child.pid!);
  }

  /** Resident memory of the server process. */
  rssBytes(): number {
    return processRssBytes(this.child.pid!);
  }

  /** An ioredis client with its defaults: commands are pipelined on one connection as they are issued. */
  client(): Redis {
    return new Redis(this.port, '127.0.0.1');
  }

  async stop(): Promise<void> {
    await terminate(this.child);
    removeTempDir(this.dir);
  }
}
