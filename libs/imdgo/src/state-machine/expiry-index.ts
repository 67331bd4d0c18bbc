import { MinHeap } from '../util/min-heap.ts';

/** A key with a TTL, as the expiry index orders it. */
export interface ExpiryCandidate {
  readonly expiresAt: number;
  readonly map: string;
  readonly key: string;
}

interface Slot extends ExpiryCandidate {
  position: number;
}

/** Deadline order; ties by map and key: a total order, so the order is a function of the set alone. */
function compare(a: ExpiryCandidate, b: ExpiryCandidate): number {
  return (
    a.expiresAt - b.expiresAt ||
    (a.map < b.map ? -1 : a.map > b.map ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/**
 * Every live key with a TTL, exactly once, in (expiresAt, map, key) order. Only applies change it, so it is
 * part of the replicated state: the same on every node at the same applied index, whatever order the keys
 * were inserted in (a restored node builds it in another order, and still iterates it alike). An indexed
 * binary heap: a key's slot knows its position, so a rewrite or delete moves or removes it in O(log n).
 */
export class ExpiryIndex {
  private readonly heap: Slot[] = [];
  private readonly slots = new Map<string, Map<string, Slot>>();

  get size(): number {
    return this.heap.length;
  }

  /** Sets the key's deadline (null: no TTL, so not indexed). */
  set(map: string, key: string, expiresAt: number | null): void {
    this.delete(map, key);
    if (expiresAt === null) return;
    const slot: Slot = { expiresAt, map, key, position: this.heap.length };
    let keys = this.slots.get(map);
    if (!keys) {
      keys = new Map();
      this.slots.set(map, keys);
    }
    keys.set(key, slot);
    this.heap.push(slot);
    this.up(slot.position);
  }

  delete(map: string, key: string): void {
    const keys = this.slots.get(map);
    const slot = keys?.get(key);
    if (!keys || !slot) return;
    keys.delete(key);
    if (keys.size === 0) this.slots.delete(map);
    const last = this.heap.pop()!;
    if (last === slot) return;
    this.heap[slot.position] = last;
    last.position = slot.position;
    this.down(this.up(last.position));
  }

  /** The keys in order, earliest deadline first, without changing the index (O(k log k) for k of them). */
  *ascending(): Generator<ExpiryCandidate> {
    if (this.heap.length === 0) return;
    const frontier = new MinHeap<Slot>(compare);
    frontier.push(this.heap[0]!);
    for (let slot = frontier.pop(); slot; slot = frontier.pop()) {
      yield slot;
      const left = 2 * slot.position + 1;
      if (left < this.heap.length) frontier.push(this.heap[left]!);
      if (left + 1 < this.heap.length) frontier.push(this.heap[left + 1]!);
    }
  }

  private up(position: number): number {
    const heap = this.heap;
    let i = position;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(heap[i]!, heap[parent]!) >= 0) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private down(position: number): void {
    const heap = this.heap;
    let i = position;
    for (;;) {
      const left = 2 * i + 1;
      let first = i;
      if (left < heap.length && compare(heap[left]!, heap[first]!) < 0) first = left;
      if (left + 1 < heap.length && compare(heap[left + 1]!, heap[first]!) < 0) first = left + 1;
      if (first === i) return;
      this.swap(i, first);
      i = first;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    a.position = j;
    b.position = i;
  }
}
