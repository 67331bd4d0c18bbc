import { monotonicMs } from './clock.ts';

/**
 * A closed-loop load that runs until stopped and remembers when each writer's successful operations
 * started and ended, on the machine-wide monotonic clock: the failover measurement asks it for each
 * writer's first success of an operation issued after a fault.
 */
export class BackgroundLoad {
  private readonly successes: { writer: number; started: number; ended: number }[] = [];
  private waiters: { after: number; resolve: (ended: number) => void; writer: number }[] = [];
  private stopping = false;
  private errors = 0;
  private readonly workers: Promise<void>[];

  /** `operationOf(writer)`: each writer's own operation (etcd: each writer with its own client). */
  constructor(operationOf: (writer: number) => () => Promise<unknown>, concurrency: number) {
    const worker = async (writer: number): Promise<void> => {
      const operation = operationOf(writer);
      while (!this.stopping) {
        const started = monotonicMs();
        try {
          await operation();
          this.succeeded(writer, started, monotonicMs());
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
        const earlier = this.successes.find((s) => s.writer === waiter.writer && s.started >= after);
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
    this.successes.push({ writer, started, ended });
    // A waiter that completes replaces this.waiters with a new array; this loop keeps the old one.
    for (const waiter of this.waiters) {
      if (waiter.writer === writer && started >= waiter.after) waiter.resolve(ended);
    }
  }
}
