import { monotonicMs } from './clock.ts';

/**
 * A closed-loop load that runs until stopped and remembers when each successful operation started and
 * ended, on the machine-wide monotonic clock: the failover measurement asks it for the first success of
 * an operation issued after a kill.
 */
export class BackgroundLoad {
  private readonly successes: { started: number; ended: number }[] = [];
  private readonly waiters: { after: number; resolve: (ended: number) => void }[] = [];
  private stopping = false;
  private errors = 0;
  private readonly workers: Promise<void>[];

  constructor(operation: () => Promise<unknown>, concurrency: number) {
    const worker = async (): Promise<void> => {
      while (!this.stopping) {
        const started = monotonicMs();
        try {
          await operation();
          this.succeeded(started, monotonicMs());
        } catch {
          this.errors++;
        }
      }
    };
    this.workers = Array.from({ length: concurrency }, worker);
  }

  /** Ends at the first success of an operation issued at or after `after`; null if none by the timeout. */
  firstSuccessAfter(after: number, timeoutMs: number): Promise<number | null> {
    const found = this.successes.find((s) => s.started >= after);
    if (found) return Promise.resolve(found.ended);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      this.waiters.push({
        after,
        resolve: (ended) => {
          clearTimeout(timer);
          resolve(ended);
        },
      });
    });
  }

  async stop(): Promise<{ errors: number }> {
    this.stopping = true;
    await Promise.all(this.workers);
    return { errors: this.errors };
  }

  private succeeded(started: number, ended: number): void {
    this.successes.push({ started, ended });
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (started < this.waiters[i]!.after) continue;
      this.waiters[i]!.resolve(ended);
      this.waiters.splice(i, 1);
    }
  }
}
