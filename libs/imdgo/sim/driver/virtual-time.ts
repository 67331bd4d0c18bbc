import type { Scheduler, TimerHandle } from '../../src/driver/scheduler.ts';
import { EventQueue } from '../event-queue.ts';

/**
 * What one event-loop turn costs: a deferred callback runs this much later. Without it a driver that
 * reschedules itself every turn (say, a read waiting for a leader) would stop virtual time.
 */
const TURN_MS = 0.1;

/** Where the virtual wall clock starts: a plausible date, so TTL deadlines look like real ones. */
const EPOCH_MS = Date.UTC(2026, 0, 1);

interface Task {
  /** The process whose timer this is: it does not run while the process is paused, never once it died. */
  readonly owner: SimProcess | null;
  readonly run: () => void;
  readonly handle: { cancelled: boolean };
}

/**
 * The virtual clock and its one queue of everything that will happen. `step` runs the next due task and
 * then lets every promise continuation it caused run to completion, so async driver code interleaves
 * exactly the same way on every run of a seed.
 */
export class VirtualTime {
  now = 0;
  private readonly queue = new EventQueue<Task>();

  get pending(): number {
    return this.queue.size;
  }

  /** Runs `run` at `time` (not before now); ties run in the order they were scheduled. */
  at(time: number, run: () => void, owner: SimProcess | null = null): { cancelled: boolean } {
    const handle = { cancelled: false };
    this.queue.push(Math.max(this.now, time), { owner, run, handle });
    return handle;
  }

  /** Runs the next task, or returns false when nothing is left. */
  async step(): Promise<boolean> {
    const next = this.queue.pop();
    if (!next) return false;
    this.now = next.time;
    const task = next.event;
    if (task.handle.cancelled) return true;
    const owner = task.owner;
    if (owner) {
      if (!owner.alive) return true;
      if (owner.pausedUntil > this.now) {
        // A paused process runs nothing; its due timers fire when it resumes.
        this.queue.push(owner.pausedUntil, task);
        return true;
      }
    }
    task.run();
    await drainMicrotasks();
    return true;
  }
}

/**
 * Node runs every microtask queued before a macrotask; one real `setImmediate` therefore waits until the
 * promise chains started by the last task have settled (nothing else real is pending in a simulation).
 */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * One simulated OS process: the driver's Scheduler on virtual time. A crash kills every timer of the
 * process at once, a pause holds them; its wall clock may be skewed from the others.
 */
export class SimProcess implements Scheduler {
  alive = true;
  pausedUntil = 0;
  private readonly time: VirtualTime;
  private readonly skewMs: number;

  constructor(time: VirtualTime, skewMs = 0) {
    this.time = time;
    this.skewMs = skewMs;
  }

  now(): number {
    return EPOCH_MS + this.time.now + this.skewMs;
  }

  monotonic(): number {
    return this.time.now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    // As Node does, a delay below 1 ms is 1 ms.
    return this.time.at(this.time.now + Math.max(1, ms), callback, this);
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as { cancelled: boolean }).cancelled = true;
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    const period = Math.max(1, ms);
    const handle = { cancelled: false };
    const arm = (): void => {
      this.time.at(
        this.time.now + period,
        () => {
          if (handle.cancelled) return;
          arm();
          callback();
        },
        this,
      );
    };
    arm();
    return handle;
  }

  clearInterval(handle: TimerHandle): void {
    (handle as { cancelled: boolean }).cancelled = true;
  }

  defer(callback: () => void): void {
    this.time.at(this.time.now + TURN_MS, callback, this);
  }

  /** Runs `callback` on this process's behalf at `time` (a message arriving, say): held while paused. */
  at(time: number, callback: () => void): void {
    this.time.at(time, callback, this);
  }

  crash(): void {
    this.alive = false;
  }
}
