import type { Scheduler, TimerHandle } from './scheduler.ts';

interface Interval {
  readonly ms: number;
  readonly callback: () => void;
}

/**
 * A Scheduler whose intervals of one period share one timer of the underlying scheduler, so that every
 * group of a node ticks in the same turn: their heartbeats to a peer then leave in one frame (GroupMux),
 * and hundreds of groups cost one timer, not hundreds. Everything else passes through.
 */
export class SharedTicker implements Scheduler {
  private readonly base: Scheduler;
  private readonly byPeriod = new Map<number, { timer: TimerHandle; intervals: Set<Interval> }>();

  constructor(base: Scheduler) {
    this.base = base;
  }

  now(): number {
    return this.base.now();
  }

  monotonic(): number {
    return this.base.monotonic();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(callback, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    this.base.clearTimeout(handle);
  }

  defer(callback: () => void): void {
    this.base.defer(callback);
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    const interval: Interval = { ms, callback };
    let shared = this.byPeriod.get(ms);
    if (shared === undefined) {
      const intervals = new Set<Interval>();
      // A copy: a callback may clear its own interval (a node stopping) or start another.
      const timer = this.base.setInterval(() => {
        for (const each of Array.from(intervals)) if (intervals.has(each)) each.callback();
      }, ms);
      shared = { timer, intervals };
      this.byPeriod.set(ms, shared);
    }
    shared.intervals.add(interval);
    return interval;
  }

  clearInterval(handle: TimerHandle): void {
    const interval = handle as Interval;
    const shared = this.byPeriod.get(interval.ms);
    if (!shared?.intervals.delete(interval)) return;
    if (shared.intervals.size > 0) return;
    this.base.clearInterval(shared.timer);
    this.byPeriod.delete(interval.ms);
  }
}
