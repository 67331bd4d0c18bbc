import { ExploredSet } from './explored-set.ts';
import type { Model, Operation } from './types.ts';

export type CheckOptions = {
  /** Gives up with `unknown` once this much time has been spent; no limit when absent. */
  timeoutMs?: number;
};

export type CheckResult<I, O> =
  | { result: 'linearizable'; partitions: number }
  | {
      result: 'not-linearizable';
      /** Index, in the model's partitioning, of the sub-history that has no linearization. */
      partitionIndex: number;
      partition: Operation<I, O>[];
      /** The longest sequence of that partition's operations the search could linearize. */
      longestLinearization: Operation<I, O>[];
    }
  | { result: 'unknown'; reason: 'timeout'; unfinishedPartitions: number[] };

/**
 * Wing & Gong's search with Lowe's memoization, as in Porcupine: walk the time-ordered list of call
 * and return entries, tentatively linearize a call whose step succeeds (removing it and its return
 * from the list), and backtrack when a return is reached whose call is still pending. A (set of
 * linearized operations, state) pair that was already explored is never explored again.
 *
 * Partitions are searched in turns of a few thousand steps each, like Porcupine's parallel checks: one
 * violation settles the verdict, and an easy one must not wait behind a partition whose refutation
 * takes exponential time.
 */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const deadline = performance.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  const partitions = model.partition ? model.partition(ops) : [[...ops]];
  const queue = partitions.map((partition, index) => ({ index, search: searchPartition(model, partition) }));
  for (let turn = queue.shift(); turn !== undefined; turn = queue.shift()) {
    const outcome = turn.search.next();
    if (!outcome.done) {
      queue.push(turn);
      // Checked after the turn, so that a history small enough to finish in one turn always does.
      if (performance.now() > deadline) {
        const unfinished = queue.map((q) => q.index).toSorted((x, y) => x - y);
        return { result: 'unknown', reason: 'timeout', unfinishedPartitions: unfinished };
      }
    } else if (outcome.value !== 'ok') {
      const partition = partitions[turn.index];
      return {
        result: 'not-linearizable',
        partitionIndex: turn.index,
        partition,
        longestLinearization: outcome.value.map((id) => partition[id]),
      };
    }
  }
  return { result: 'linearizable', partitions: partitions.length };
}

type Entry = { id: number; isCall: boolean; prev: Entry; next: Entry };

// Search steps per turn: long enough that switching and reading the clock cost nothing.
const TURN_STEPS = 4096;

/** Yields after each turn; returns 'ok', or on a violation the longest linearization found. */
function* searchPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
): Generator<void, 'ok' | number[]> {
  const { head, calls, returns } = buildEntryList(ops);
  const linearized = new Uint32Array((ops.length + 31) >>> 5);
  const zobrist = Int32Array.from(ops, (_, id) => mix32(id));
  const explored = new ExploredSet(linearized.length);
  const stack: { id: number; state: S }[] = [];
  let longest: number[] = [];
  let state = model.init();
  let hash = 0;
  let entry = head.next;
  let steps = 0;
  while (head.next !== head) {
    if (++steps % TURN_STEPS === 0) yield;
    if (!entry.isCall) {
      // The operation returning here is not linearized yet: undo the latest choice and try the next.
      const top = stack.pop();
      if (top === undefined) return longest;
      state = top.state;
      hash ^= zobrist[top.id];
      flip(linearized, top.id);
      relink(calls[top.id], returns[top.id]);
      entry = calls[top.id].next;
      continue;
    }
    const op = ops[entry.id];
    const next = model.step(state, op.input, op.output);
    if (next.ok) {
      flip(linearized, entry.id);
      if (explored.add(hash ^ zobrist[entry.id], linearized, model.key(next.state))) {
        stack.push({ id: entry.id, state });
        if (stack.length > longest.length) longest = stack.map((s) => s.id);
        state = next.state;
        hash ^= zobrist[entry.id];
        unlink(entry, returns[entry.id]);
        entry = head.next;
        continue;
      }
      flip(linearized, entry.id);
    }
    entry = entry.next;
  }
  return 'ok';
}

/**
 * Builds a circular list (with a sentinel head) of every call and return entry in time order. On
 * equal times calls come first, so touching operations count as concurrent: a coarse clock can then
 * hide a violation but never invent one.
 */
function buildEntryList<I, O>(
  ops: readonly Operation<I, O>[],
): {
  head: Entry;
  calls: Entry[];
  returns: Entry[];
} {
  const events: { time: number; isCall: boolean; id: number }[] = [];
  for (const [id, op] of ops.entries()) {
    if (!(op.call <= op.return)) throw new RangeError(`operation ${id} returns before its call`);
    events.push({ time: op.call, isCall: true, id }, { time: op.return, isCall: false, id });
  }
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head = { id: -1, isCall: false } as Entry;
  head.prev = head;
  head.next = head;
  const calls: Entry[] = [];
  const returns: Entry[] = [];
  for (const event of events) {
    const entry: Entry = { id: event.id, isCall: event.isCall, prev: head.prev, next: head };
    head.prev.next = entry;
    head.prev = entry;
    (event.isCall ? calls : returns)[event.id] = entry;
  }
  return { head, calls, returns };
}

function unlink(call: Entry, ret: Entry): void {
  call.prev.next = call.next;
  call.next.prev = call.prev;
  ret.prev.next = ret.next;
  ret.next.prev = ret.prev;
}

/** Exactly undoes the matching `unlink` (entries keep their own prev/next while unlinked). */
function relink(call: Entry, ret: Entry): void {
  ret.prev.next = ret;
  ret.next.prev = ret;
  call.prev.next = call;
  call.next.prev = call;
}

function flip(bits: Uint32Array, id: number): void {
  bits[id >>> 5] ^= 1 << (id & 31);
}

/**
 * A well-spread 32-bit value per operation (murmur3's finalizer); XOR-ing them gives a set hash that
 * is updated in O(1) as operations are linearized and undone.
 */
function mix32(n: number): number {
  let h = (n + 0x9e3779b9) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
