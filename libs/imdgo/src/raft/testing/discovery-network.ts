import { Raft } from '../raft.ts';
import { SeededRandom } from '../random.ts';
import type { Message, NodeId } from '../types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Cores that form their cluster by discovery, as the driver starts them: every start is without state
 * (memory mode) and with a new incarnation. Time advances in rounds: each live node ticks once, then every
 * message is delivered (messages to a node that is down are lost).
 */
export class DiscoveryNetwork {
  readonly ids: readonly NodeId[];
  readonly nodes = new Map<NodeId, Raft>();
  /** Commands each node's state machine applied since it started. */
  readonly applied = new Map<NodeId, string[]>();
  private queue: Message[] = [];
  private starts = 0;
  private readonly random: SeededRandom;
  private readonly maxVoters: number | undefined;

  /** `maxVoters`: as the discovery option, on every node. */
  constructor(ids: readonly NodeId[], seed = 1, maxVoters?: number) {
    this.ids = ids;
    this.random = new SeededRandom(seed);
    this.maxVoters = maxVoters;
  }

  raft(id: NodeId): Raft {
    const raft = this.nodes.get(id);
    if (!raft) throw new Error(`${id} is down`);
    return raft;
  }

  /** Starts `id` without state, as a new incarnation. */
  start(id: NodeId): Raft {
    const incarnation = `${id}.${++this.starts}`;
    const raft = new Raft({
      id,
      voters: [],
      random: new SeededRandom(this.random.int(2 ** 31)),
      discovery: {
        members: this.ids,
        incarnation,
        ...(this.maxVoters === undefined ? {} : { maxVoters: this.maxVoters }),
      },
    });
    this.nodes.set(id, raft);
    this.applied.set(id, []);
    return raft;
  }

  crash(id: NodeId): void {
    this.nodes.delete(id);
  }

  round(): void {
    for (const raft of this.nodes.values()) {
      raft.tick();
      this.flush(raft);
    }
    for (let i = 0; this.queue.length > 0; i++) {
      if (i > 100_000) throw new Error('messages keep coming');
      const m = this.queue.shift()!;
      const raft = this.nodes.get(m.to);
      if (!raft) continue;
      raft.step(m);
      this.flush(raft);
    }
  }

  /** Runs rounds until `done()` holds; throws after `limit` rounds. */
  runUntil(done: () => boolean, what: string, limit = 500): void {
    for (let rounds = 0; !done(); rounds++) {
      if (rounds >= limit) throw new Error(`no ${what} after ${limit} rounds: ${this.describe()}`);
      this.round();
    }
  }

  propose(id: NodeId, text: string): void {
    const result = this.raft(id).propose(encoder.encode(text));
    if (!result.ok) throw new Error(`${id} refused a proposal: ${result.reason}`);
    this.flush(this.raft(id));
  }

  leader(): Raft | undefined {
    return [...this.nodes.values()].find((raft) => raft.role === 'leader');
  }

  /** Every live node is a voter, admitted, in one configuration that lists them all, under one leader. */
  formed(): boolean {
    const leader = this.leader();
    if (!leader) return false;
    return [...this.nodes.values()].every(
      (raft) =>
        raft.discovery === null &&
        raft.leader === leader.id &&
        [...this.nodes.keys()].every((id) => raft.membership.current.voters.includes(id)),
    );
  }

  describe(): string {
    return [...this.nodes.values()]
      .map(
        (r) =>
          `${r.id} ${r.role} term ${r.term} leader ${r.leader} ${r.discovery ? 'discovering' : 'admitted'}`,
      )
      .join('; ');
  }

  private flush(raft: Raft): void {
    while (raft.hasReady()) {
      const ready = raft.ready();
      this.queue.push(...ready.messages);
      const applied = this.applied.get(raft.id)!;
      for (const entry of ready.committedEntries) {
        if (entry.kind === 'command') applied.push(decoder.decode(entry.data));
      }
    }
  }
}
