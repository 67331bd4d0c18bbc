interface Scheduled<T> {
  readonly time: number;
  /** Insertion order: ties at the same time run first-in first-out, so a seed replays exactly. */
  readonly order: number;
  readonly event: T;
}

/** A binary min-heap of events on the virtual clock. */
export class EventQueue<T> {
  private readonly heap: Scheduled<T>[] = [];
  private nextOrder = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, event: T): void {
    this.heap.push({ time, order: this.nextOrder++, event });
    this.siftUp(this.heap.length - 1);
  }

  pop(): { time: number; event: T } | undefined {
    const top = this.heap[0];
    if (!top) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private before(a: Scheduled<T>, b: Scheduled<T>): boolean {
    return a.time < b.time || (a.time === b.time && a.order < b.order);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
