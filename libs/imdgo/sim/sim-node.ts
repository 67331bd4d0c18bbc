import { Raft, type RaftOptions, type RaftRestoreState } from '../src/raft/index.ts';
import type { Entry, HardState, Message, NodeId, Ready, Snapshot, SnapshotMeta } from '../src/raft/types.ts';
import { encodeImage } from '../src/state-machine/snapshot-image.ts';
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
  /** InstallSnapshot with its image, as the driver streams it beside the core's message. */
  | {
      readonly kind: 'snapshot';
      readonly message: Message & { type: 'snapshot' };
      readonly image: Uint8Array;
    }
  | { readonly kind: 'forward'; readonly requestId: number; readonly command: LoggedCommand }
  | { readonly kind: 'forward-result'; readonly requestId: number; readonly result: CommandResult };

/** The node's persisted state: what survives a crash (in data-directory mode). */
export interface SimDisk {
  hardState: HardState;
  snapshot: Snapshot | null;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[];
}

export function emptyDisk(): SimDisk {
  return { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };
}

/** The entry at `index` on this disk, or undefined if absent or folded into the snapshot. */
export function diskEntry(disk: SimDisk, index: number): Entry | undefined {
  const offset = disk.snapshot?.index ?? 0;
  return index > offset ? disk.entries[index - offset - 1] : undefined;
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
  /** Decides whether this Ready's write is torn by a crash: then only a prefix of it reaches the disk. */
  tearsWrite(node: SimNode, ready: Ready): boolean;
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
  disk: SimDisk = emptyDisk();
  alive = true;
  /** The newest snapshot this node holds, taken or installed: what it sends a lagging follower. */
  private latestImage: Snapshot | null = null;
  private receivedImage: { index: number; term: number; image: Uint8Array } | null = null;
  private readonly snapshotEvery: number;
  private readonly host: SimNodeHost;
  private nextRequestId = 1;
  private readonly proposals = new Map<number, { term: number; origin: Origin }>();
  private readonly reads = new Map<number, { clientRequest: number; key: string }>();
  private readonly readsAwaitingApply: { index: number; clientRequest: number; key: string }[] = [];
  private readonly forwarded = new Map<number, number>();

  constructor(options: RaftOptions, host: SimNodeHost, snapshotEvery: number) {
    this.id = options.id;
    this.host = host;
    this.snapshotEvery = snapshotEvery;
    this.raft = new Raft(options);
  }

  /** Stops the node; with `loseDisk` (memory mode, or a decommissioned member) nothing survives. */
  crash(loseDisk = false): void {
    this.alive = false;
    if (loseDisk) this.disk = emptyDisk();
    this.receivedImage = null;
    this.proposals.clear();
    this.reads.clear();
    this.readsAwaitingApply.length = 0;
    this.forwarded.clear();
  }

  /** Comes back with only what was on disk; the state machine is rebuilt by re-applying the log. */
  restart(options: RaftOptions): void {
    const { hardState, snapshot, entries } = this.disk;
    const meta: SnapshotMeta | null = snapshot && {
      index: snapshot.index,
      term: snapshot.term,
      config: snapshot.config,
    };
    const restore: RaftRestoreState = { hardState, entries: [...entries], snapshot: meta };
    this.raft = new Raft(options, restore);
    this.machine = new KvStateMachine();
    if (snapshot) this.machine.restore(snapshot.data);
    this.latestImage = snapshot;
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
      case 'snapshot': {
        const { index, term } = wire.message.snapshot;
        this.receivedImage = { index, term, image: wire.image };
        this.raft.step(wire.message);
        break;
      }
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
      if (this.host.tearsWrite(this, ready)) {
        // A crash mid-write: part of the entries reached the disk, the hard state did not. Nothing of this
        // Ready was sent or acknowledged, so losing the rest is allowed.
        this.persistEntries(ready.entries.slice(0, Math.floor(ready.entries.length / 2)));
        this.crash();
        return;
      }
      if (ready.hardState) this.disk.hardState = ready.hardState;
      this.persistEntries(ready.entries);
      if (ready.snapshot) this.installSnapshot(ready.snapshot);
      // Between the fsync and the sends: the host may crash the node or cut its links right here.
      this.host.observeReady(this, ready);
      if (!this.alive) return;
      for (const message of ready.messages) this.sendMessage(message);
      for (const entry of ready.committedEntries) this.apply(entry);
      this.maybeSnapshot();
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

  private persistEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const offset = this.disk.snapshot?.index ?? 0;
    this.disk.entries.length = Math.max(0, entries[0]!.index - offset - 1);
    this.disk.entries.push(...entries);
  }

  private sendMessage(message: Message): void {
    if (message.type !== 'snapshot') {
      this.host.send(this.id, message.to, { kind: 'raft', message });
      return;
    }
    const image = this.latestImage;
    const sendable = image !== null && image.index === message.snapshot.index;
    if (sendable) this.host.send(this.id, message.to, { kind: 'snapshot', message, image: image.data });
    // The transfer's fate is the network's; the leader probes again if the answer never comes.
    this.raft.reportSnapshot(message.to, sendable);
  }

  private installSnapshot(meta: SnapshotMeta): void {
    const received = this.receivedImage;
    if (!received || received.index !== meta.index || received.term !== meta.term) {
      throw new Error(`${this.id}: the core installed snapshot ${meta.index} without its image`);
    }
    this.receivedImage = null;
    const snapshot: Snapshot = { ...meta, data: received.image };
    this.disk.snapshot = snapshot;
    this.disk.entries = [];
    this.machine.restore(received.image);
    this.latestImage = snapshot;
  }

  /** Every `snapshotEvery` applied entries, an image of the state machine; the core then compacts. */
  private maybeSnapshot(): void {
    const applied = this.machine.appliedIndex;
    if (this.snapshotEvery === 0 || applied - (this.latestImage?.index ?? 0) < this.snapshotEvery) return;
    const meta = this.raft.snapshotMeta(applied);
    const snapshot: Snapshot = { ...meta, data: encodeImage(this.machine.capture()) };
    this.disk.snapshot = snapshot;
    this.disk.entries = this.disk.entries.filter((e) => e.index > meta.index);
    this.latestImage = snapshot;
    this.raft.snapshotTaken(meta.index);
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
          value: this.machine.get(DEFAULT_MAP, read.key)?.value ?? null,
        });
      } else {
        i++;
      }
    }
  }
}
