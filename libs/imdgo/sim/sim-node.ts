import { Raft, type RaftOptions, type RaftRestoreState } from '../src/raft/index.ts';
import type { Entry, HardState, Message, NodeId, Ready } from '../src/raft/types.ts';
import {
  DEFAULT_MAP,
  encodeCommand,
  type CommandResult,
  type LoggedCommand,
} from '../src/state-machine/commands.ts';
import { KvStateMachine } from '../src/state-machine/kv-state-machine.ts';

/** What crosses the simulated network: Raft's own messages and the driver's write forwarding. */
export type Wire =
  | { readonly kind: 'raft'; readonly message: Message }
  | { readonly kind: 'forward'; readonly requestId: number; readonly command: LoggedCommand }
  | { readonly kind: 'forward-result'; readonly requestId: number; readonly result: CommandResult };

/** The node's persisted state: what survives a crash. */
export interface SimDisk {
  hardState: HardState;
  entries: Entry[];
}

export type ClientReply =
  | { readonly kind: 'write'; readonly result: CommandResult }
  | { readonly kind: 'read'; readonly value: unknown }
  /** Definitely not executed (e.g. no leader known): safe to retry at once. */
  | { readonly kind: 'rejected'; readonly reason: string };

/** The hooks through which a node reaches the rest of the simulation. */
export interface SimNodeHost {
  send(from: NodeId, to: NodeId, wire: Wire): void;
  reply(clientRequest: number, reply: ClientReply): void;
  /** Called once the Ready is persisted, before its messages go out. */
  observeReady(node: SimNode, ready: Ready): void;
  observeApplied(node: SimNode, entry: Entry): void;
}

type Origin = { readonly local: number } | { readonly from: NodeId; readonly requestId: number };

/**
 * A miniature node driver over the real core: it keeps Ready's contract (persist, then send, then apply),
 * answers embedded clients, and forwards writes to the leader, as the production driver does.
 */
export class SimNode {
  readonly id: NodeId;
  raft: Raft;
  machine = new KvStateMachine();
  readonly disk: SimDisk = { hardState: { term: 0, vote: null, commit: 0 }, entries: [] };
  alive = true;
  private readonly host: SimNodeHost;
  private nextRequestId = 1;
  private readonly proposals = new Map<number, { term: number; origin: Origin }>();
  private readonly reads = new Map<number, { clientRequest: number; key: string }>();
  private readonly readsAwaitingApply: { index: number; clientRequest: number; key: string }[] = [];
  private readonly forwarded = new Map<number, number>();

  constructor(options: RaftOptions, host: SimNodeHost) {
    this.id = options.id;
    this.host = host;
    this.raft = new Raft(options);
  }

  crash(): void {
    this.alive = false;
    this.proposals.clear();
    this.reads.clear();
    this.readsAwaitingApply.length = 0;
    this.forwarded.clear();
  }

  /** Comes back with only what was on disk; the state machine is rebuilt by re-applying the log. */
  restart(options: RaftOptions): void {
    const restore: RaftRestoreState = { hardState: this.disk.hardState, entries: [...this.disk.entries] };
    this.raft = new Raft(options, restore);
    this.machine = new KvStateMachine();
    this.alive = true;
  }

  tick(): void {
    this.raft.tick();
    this.process();
  }

  receive(from: NodeId, wire: Wire): void {
    switch (wire.kind) {
      case 'raft':
        this.raft.step(wire.message);
        break;
      case 'forward':
        this.propose(wire.command, { from, requestId: wire.requestId });
        break;
      case 'forward-result': {
        const clientRequest = this.forwarded.get(wire.requestId);
        this.forwarded.delete(wire.requestId);
        if (clientRequest !== undefined)
          this.host.reply(clientRequest, { kind: 'write', result: wire.result });
        break;
      }
    }
    this.process();
  }

  write(clientRequest: number, command: LoggedCommand): void {
    if (this.raft.role === 'leader') {
      this.propose(command, { local: clientRequest });
    } else if (this.raft.leader !== null) {
      const requestId = this.nextRequestId++;
      this.forwarded.set(requestId, clientRequest);
      this.host.send(this.id, this.raft.leader, { kind: 'forward', requestId, command });
    } else {
      this.host.reply(clientRequest, { kind: 'rejected', reason: 'no leader' });
    }
    this.process();
  }

  read(clientRequest: number, key: string): void {
    const requestId = this.nextRequestId++;
    this.reads.set(requestId, { clientRequest, key });
    this.raft.readIndex(requestId);
    this.process();
  }

  private propose(command: LoggedCommand, origin: Origin): void {
    const result = this.raft.propose(encodeCommand(command));
    if (result.ok) {
      this.proposals.set(result.firstIndex, { term: result.term, origin });
    } else if ('local' in origin) {
      this.host.reply(origin.local, { kind: 'rejected', reason: result.reason });
    }
    // A forwarded write we cannot take is left to the follower's client timeout, like a lost message.
  }

  /** Carries out everything the core asked for, in Ready's order. */
  private process(): void {
    while (this.alive && this.raft.hasReady()) {
      const ready = this.raft.ready();
      if (ready.hardState) this.disk.hardState = ready.hardState;
      if (ready.entries.length > 0) {
        this.disk.entries.length = ready.entries[0]!.index - 1;
        this.disk.entries.push(...ready.entries);
      }
      // Between the fsync and the sends: the host may crash the node or cut its links right here.
      this.host.observeReady(this, ready);
      if (!this.alive) return;
      for (const message of ready.messages) this.host.send(this.id, message.to, { kind: 'raft', message });
      for (const entry of ready.committedEntries) this.apply(entry);
      for (const { requestId, index } of ready.readStates) {
        const read = this.reads.get(requestId);
        this.reads.delete(requestId);
        if (read) this.readsAwaitingApply.push({ index, ...read });
      }
      for (const requestId of ready.droppedReads) {
        const read = this.reads.get(requestId);
        this.reads.delete(requestId);
        if (read) this.host.reply(read.clientRequest, { kind: 'rejected', reason: 'read dropped' });
      }
      this.serveReads();
    }
  }

  private apply(entry: Entry): void {
    const applied = this.machine.apply(entry);
    this.host.observeApplied(this, entry);
    const proposal = this.proposals.get(entry.index);
    if (!proposal) return;
    this.proposals.delete(entry.index);
    // Another leader's entry took this index: ours was never committed; its client will time out.
    if (proposal.term !== entry.term) return;
    const result = applied.result;
    if (!result) return;
    const origin = proposal.origin;
    if ('local' in origin) this.host.reply(origin.local, { kind: 'write', result });
    else
      this.host.send(this.id, origin.from, { kind: 'forward-result', requestId: origin.requestId, result });
  }

  private serveReads(): void {
    const applied = this.machine.appliedIndex;
    let i = 0;
    while (i < this.readsAwaitingApply.length) {
      const read = this.readsAwaitingApply[i]!;
      if (read.index <= applied) {
        this.readsAwaitingApply.splice(i, 1);
        this.host.reply(read.clientRequest, {
          kind: 'read',
          value: this.machine.get(DEFAULT_MAP, read.key, 0)?.value ?? null,
        });
      } else {
        i++;
      }
    }
  }
}
