import type { RaftOptions } from '../config.ts';
import { Raft, type RaftRestoreState } from '../raft.ts';
import type { RandomSource } from '../random.ts';
import type { Entry, HardState, Message, NodeId, ReadState } from '../types.ts';

/** Every draw is 0: each node's election timeout is exactly `electionTicks`, so tests choose who campaigns. */
export const noJitter: RandomSource = { int: () => 0 };

export interface Storage {
  hardState: HardState;
  entries: Entry[];
}

const encoder = new TextEncoder();
export const bytes = (text: string): Uint8Array => encoder.encode(text);

/**
 * A tiny driver for several cores in one test: it keeps Ready's contract (persist, then send, then apply),
 * queues messages and delivers them in order, and can cut links, drop messages and crash nodes.
 */
export class TestNetwork {
  readonly ids: readonly NodeId[];
  readonly nodes = new Map<NodeId, Raft>();
  readonly storage = new Map<NodeId, Storage>();
  /** Committed entries each node's state machine received, in order (reset by a restart). */
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Messages sent and not yet delivered, oldest first; tests may inspect or edit it. */
  queue: Message[] = [];
  /** Every message delivered, in order. */
  readonly delivered: Message[] = [];
  private readonly options: Partial<RaftOptions>;
  private readonly cut = new Set<string>();
  private readonly dropRules: ((m: Message) => boolean)[] = [];
  /** The process incarnation each node runs as, for nodes started by discovery. */
  private readonly incarnations = new Map<NodeId, string>();

  constructor(
    ids: readonly NodeId[],
    options: Partial<RaftOptions> = {},
    restore: Readonly<Record<NodeId, RaftRestoreState>> = {},
    /** Nodes that run as a process incarnation (started by discovery; admitted if their log seats it). */
    incarnations: Readonly<Record<NodeId, string>> = {},
  ) {
    this.ids = ids;
    this.options = options;
    for (const [id, incarnation] of Object.entries(incarnations)) this.incarnations.set(id, incarnation);
    for (const id of ids) {
      const state = restore[id];
      this.storage.set(id, {
        hardState: state?.hardState ?? { term: 0, vote: null, commit: 0 },
        entries: [...(state?.entries ?? [])],
      });
      this.start(id);
    }
  }

  raft(id: NodeId): Raft {
    const raft = this.nodes.get(id);
    if (!raft) throw new Error(`${id} is down`);
    return raft;
  }

  /** Takes every live node's Ready: persists it, queues its messages and records what it applied. */
  flush(): void {
    for (const id of this.nodes.keys()) this.flushNode(id);
  }

  /** Delivers queued messages (and the ones they cause) until none is left. */
  deliverAll(limit = 10_000): void {
    this.flush();
    for (let i = 0; this.queue.length > 0; i++) {
      if (i >= limit) throw new Error(`still ${this.queue.length} messages after ${limit} deliveries`);
      this.deliver(this.queue.shift()!);
    }
  }

  /** Delivers queued messages one at a time until `done()` holds; throws if the queue runs dry first. */
  deliverUntil(done: () => boolean): void {
    this.flush();
    while (!done()) {
      const next = this.queue.shift();
      if (!next) throw new Error('no message left to deliver');
      this.deliver(next);
    }
  }

  /** Delivers one message now, whatever the queue holds. */
  deliver(m: Message): void {
    const raft = this.nodes.get(m.to);
    if (!raft || this.isDropped(m)) return;
    this.delivered.push(m);
    raft.step(m);
    this.flushNode(m.to);
  }

  /** Removes and returns the queued messages that match. */
  take(match: (m: Message) => boolean): Message[] {
    const taken = this.queue.filter(match);
    this.queue = this.queue.filter((m) => !match(m));
    return taken;
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.raft(id).tick();
      this.flushNode(id);
    }
  }

  /** Ticks `id` until it starts a (pre-)campaign, then delivers everything. */
  campaign(id: NodeId): void {
    const raft = this.raft(id);
    const { role, term } = raft;
    for (let i = 0; raft.role === role && raft.term === term && i < 2 * raft.config.electionTicks; i++) {
      this.tick(id);
    }
    this.deliverAll();
  }

  propose(id: NodeId, text: string): void {
    const result = this.raft(id).propose(bytes(text));
    if (!result.ok) throw new Error(`${id} refused a proposal: ${result.reason}`);
    this.flushNode(id);
  }

  /** Cuts every link of `id`, both ways, until `heal()`. */
  isolate(id: NodeId): void {
    for (const other of this.ids) {
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  /** Drops every message that matches, until `heal()`. */
  dropIf(rule: (m: Message) => boolean): void {
    this.dropRules.push(rule);
  }

  heal(): void {
    this.cut.clear();
    this.dropRules.length = 0;
  }

  /** Loses everything not persisted; messages to the node are lost while it is down. */
  crash(id: NodeId): void {
    this.nodes.delete(id);
  }

  restart(id: NodeId): Raft {
    this.crash(id);
    return this.start(id);
  }

  /**
   * A restart that lost everything (memory mode): the node comes back without state as the process
   * `incarnation`, and rejoins through discovery.
   */
  restartWithoutMemory(id: NodeId, incarnation: string): Raft {
    this.crash(id);
    this.storage.set(id, { hardState: { term: 0, vote: null, commit: 0 }, entries: [] });
    this.incarnations.set(id, incarnation);
    return this.start(id);
  }

  appliedData(id: NodeId): string[] {
    const decoder = new TextDecoder();
    return this.applied
      .get(id)!
      .filter((e) => e.kind === 'command')
      .map((e) => decoder.decode(e.data));
  }

  private start(id: NodeId): Raft {
    const stored = this.storage.get(id)!;
    const incarnation = this.incarnations.get(id);
    const membership =
      incarnation === undefined
        ? { voters: this.ids }
        : { voters: [], discovery: { members: this.ids, incarnation } };
    const raft = new Raft(
      { random: noJitter, ...this.options, id, ...membership },
      { hardState: stored.hardState, entries: [...stored.entries] },
    );
    this.nodes.set(id, raft);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    return raft;
  }

  private flushNode(id: NodeId): void {
    const raft = this.nodes.get(id);
    if (!raft) return;
    while (raft.hasReady()) {
      const ready = raft.ready();
      const stored = this.storage.get(id)!;
      if (ready.hardState) stored.hardState = ready.hardState;
      if (ready.entries.length > 0) {
        stored.entries.length = ready.entries[0]!.index - 1;
        stored.entries.push(...ready.entries);
      }
      for (const m of ready.messages) if (!this.isDropped(m)) this.queue.push(m);
      this.applied.get(id)!.push(...ready.committedEntries);
      this.readStates.get(id)!.push(...ready.readStates);
    }
  }

  private isDropped(m: Message): boolean {
    return this.cut.has(`${m.from}>${m.to}`) || this.dropRules.some((rule) => rule(m));
  }
}

/** Entries for a restored log: one per term listed, at indexes 1, 2, … */
export function entriesOfTerms(terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ index: i + 1, term, kind: 'command', data: bytes(`e${i + 1}t${term}`) }));
}
