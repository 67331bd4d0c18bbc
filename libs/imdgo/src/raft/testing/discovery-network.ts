import { Raft } from '../raft.ts';
import { SeededRandom } from '../random.ts';
import type { ConfigChange, Message, NodeId } from '../types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Cores that form their cluster by discovery, as the driver starts them: every start is without state
 * (memory mode) and with a new incarnation. Time advances in rounds: each live node that is not paused
 * ticks once, then every message is delivered (messages to a node that is down, or that `drop` names, are
 * lost; those to a paused node wait for it).
 */
export class DiscoveryNetwork {
  readonly ids: readonly NodeId[];
  readonly nodes = new Map<NodeId, Raft>();
  /** Commands each node's state machine applied since it started. */
  readonly applied = new Map<NodeId, string[]>();
  /** Messages the network loses, beside those to nodes that are down. */
  drop: (message: Message) => boolean = () => false;
  private queue: Message[] = [];
  private readonly paused = new Map<NodeId, Message[]>();
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
    this.paused.delete(id);
  }

  /** Stops `id` as SIGSTOP does: it neither ticks nor takes messages, which wait for `resume`. */
  pause(id: NodeId): void {
    if (!this.paused.has(id)) this.paused.set(id, []);
  }

  resume(id: NodeId): void {
    this.queue.push(...(this.paused.get(id) ?? []));
    this.paused.delete(id);
  }

  /** Puts messages on the network, as if just sent (to deliver ones held back from a node's Ready). */
  send(messages: readonly Message[]): void {
    this.queue.push(...messages);
  }

  round(): void {
    for (const raft of this.nodes.values()) {
      if (this.paused.has(raft.id)) continue;
      raft.tick();
      this.flush(raft);
    }
    this.deliver();
  }

  /** Delivers every message on the network, and those they cause, without a tick. */
  deliver(): void {
    for (let i = 0; this.queue.length > 0; i++) {
      if (i > 100_000) throw new Error('messages keep coming');
      const m = this.queue.shift()!;
      const raft = this.nodes.get(m.to);
      if (!raft || this.drop(m)) continue;
      const held = this.paused.get(m.to);
      if (held) {
        held.push(m);
        continue;
      }
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

  leaders(): Raft[] {
    return [...this.nodes.values()].filter((raft) => raft.role === 'leader');
  }

  /** Proposes a configuration change at `leader` (retrying while another is pending) and commits it. */
  changeConfig(leader: Raft, change: ConfigChange): void {
    this.runUntil(() => leader.proposeConfigChange(change).ok, `config change ${JSON.stringify(change)}`);
    this.flush(leader);
    this.runUntil(() => leader.log.committed >= leader.membership.currentIndex, 'config committed');
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
          `${r.id} ${r.role} term ${r.term} leader ${r.leader} voters ${r.membership.current.voters} ${r.discovery ? 'discovering' : 'admitted'}`,
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
