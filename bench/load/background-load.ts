import { monotonicMs } from './clock.ts';

interface Success {
  readonly writer: number;
  readonly started: number;
  readonly ended: number;
}

/**
 * How long a success is remembered at least: a fault is asked about within seconds (a cut waits up to 2 s
 * for its nodes, and a busy node's IPC answer takes longer), and the answer for an older fault fails rather
 * than being wrong. At most twice this is kept: 40 s at 25,000 writes/s is 92 MB. Kept for the whole run
 * at 92 B each, 10 minutes of writes at 25,000/s would hold 1.4 GB of the bench's own in the process under
 * test (the leader).
 */
export const REMEMBERED_MS = 20_000;

/**
 * A closed-loop load that runs until stopped and remembers, for 20-40 s, when each writer's
 * successful operations started and ended, on the machine-wide monotonic clock: the failover measurement
 * asks it for each writer's first success of an operation issued after a fault.
 */
export class BackgroundLoad {
  // Two generations: the older is dropped whole once the newer spans REMEMBERED_MS.
  private older: Success[] = [];
  private newer: Success[] = [];
  /** When the latest forgotten success ended: what was issued before it can no longer be answered for. */
  private forgottenUntil = Number.NEGATIVE_INFINITY;
  private readonly clock: () => number;
  private waiters: { after: number; resolve: (ended: number) => void; writer: number }[] = [];
  private stopping = false;
  private errors = 0;
  private readonly workers: Promise<void>[];

  /** `operationOf(writer)`: each writer's own operation (etcd: each writer with its own client). */
  constructor(
    operationOf: (writer: number) => () => Promise<unknown>,
    concurrency: number,
    clock: () => number = monotonicMs,
  ) {
    this.clock = clock;
    const worker = async (writer: number): Promise<void> => {
      const operation = operationOf(writer);
      while (!this.stopping) {
        const started = this.clock();
        try {
          await operation();
          this.succeeded(writer, started, this.clock());
        } catch {
          this.errors++;
        }
      }
    };
    this.workers = Array.from({ length: concurrency }, (_, writer) => worker(writer));
  }

  /**
   * For each writer, when its first operation issued at or after `after` succeeded; null for a writer
   * with none by the timeout. Resolves once every writer has one, or at the timeout.
   */
  firstSuccessesAfter(after: number, timeoutMs: number): Promise<(number | null)[]> {
    if (after < this.forgottenUntil) {
      return Promise.reject(
        new Error(`successes before ${after} ms are forgotten (kept: ${REMEMBERED_MS} ms)`),
      );
    }
    return new Promise((resolve) => {
      const found: (number | null)[] = this.workers.map(() => null);
      let missing = found.length;
      const timer = setTimeout(() => finish(), timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => !mine.includes(w));
        resolve(found);
      };
      const mine = found.map((_, writer) => ({
        after,
        writer,
        resolve: (ended: number) => {
          if (found[writer] !== null) return;
          found[writer] = ended;
          if (--missing === 0) finish();
        },
      }));
      for (const waiter of mine) {
        const issuedAfter = (s: Success): boolean => s.writer === waiter.writer && s.started >= after;
        const earlier = this.older.find(issuedAfter) ?? this.newer.find(issuedAfter);
        if (earlier) waiter.resolve(earlier.ended);
      }
      if (missing > 0) this.waiters.push(...mine);
    });
  }

  async stop(): Promise<{ errors: number }> {
    this.stopping = true;
    await Promise.all(this.workers);
    return { errors: this.errors };
  }

  private succeeded(writer: number, started: number, ended: number): void {
    if (this.newer.length > 0 && ended - this.newer[0]!.ended >= REMEMBERED_MS) {
      if (this.older.length > 0) this.forgottenUntil = this.older.at(-1)!.ended;
      this.older = this.newer;
      this.newer = [];
    }
    this.newer.push({ writer, started, ended });
    // A waiter that completes replaces this.waiters with a new array; this loop keeps the old one.
    for (const waiter of this.waiters) {
      if (waiter.writer === writer && started >= waiter.after) waiter.resolve(ended);
    }
  }
}
