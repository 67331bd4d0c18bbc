/** An opaque timer handle, as returned by `setTimeout`/`setInterval` of a Scheduler. */
export type TimerHandle = object;

/**
 * Every clock, timer and turn boundary the node driver uses, injected so that the simulator can run the
 * production driver on virtual time and replay a seed exactly.
 */
export interface Scheduler {
  /** Wall-clock milliseconds since the epoch (stamped into writes, compared with TTL deadlines). */
  now(): number;
  /** Milliseconds on a monotonic clock, for measuring durations. */
  monotonic(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(callback: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Runs `callback` on a later event-loop turn, after this turn's I/O (setImmediate). */
  defer(callback: () => void): void;
}

/** The real clock and Node's timers. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
  defer: (callback) => {
    setImmediate(callback);
  },
};

/** Resolves after `ms` on the scheduler's clock. */
export function delay(scheduler: Scheduler, ms: number): Promise<void> {
  return new Promise((resolve) => scheduler.setTimeout(resolve, ms));
}
