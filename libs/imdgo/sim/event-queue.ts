import { MinHeap } from '../src/util/min-heap.ts';

interface Scheduled<T> {
  readonly time: number;
  /** Insertion order: ties at the same time run first-in first-out, so a seed replays exactly. */
  readonly order: number;
  readonly event: T;
}

/** Events on the virtual clock, earliest first. */
export class EventQueue<T> {
  private readonly heap = new MinHeap<Scheduled<T>>((a, b) => a.time - b.time || a.order - b.order);
  private nextOrder = 0;

  get size(): number {
    return this.heap.size;
  }

  push(time: number, event: T): void {
    this.heap.push({ time, order: this.nextOrder++, event });
  }

  pop(): { time: number; event: T } | undefined {
    return this.heap.pop();
  }
}
