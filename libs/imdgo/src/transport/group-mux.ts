import type { Scheduler } from '../driver/scheduler.ts';
import type { PeerTransport } from './peer-transport.ts';

/**
 * Group 0 is the single group of `partitions: 1`: its messages and requests travel untagged, exactly as
 * a RaftNode alone on its transport sends them.
 */
export const DEFAULT_GROUP = 0;
/** Far above any real partition count; keeps a frame from making a node track absurd group ids. */
export const MAX_GROUP_ID = 2 ** 20;

/** A request to a group other than 0, wrapped so that the receiving node can route it. */
interface GroupRequest {
  readonly kind: 'group';
  readonly group: number;
  readonly body: unknown;
}

interface Channel {
  messageHandler: ((from: string, message: unknown) => void) | null;
  requestHandler: ((from: string, payload: unknown) => Promise<unknown>) | null;
  peerDownHandler: ((peer: string) => void) | null;
  /** The members this group last asked to keep links to, or null before it said. */
  retained: readonly string[] | null;
}

/** What the mux knows of a peer's liveness. */
interface PeerBeat {
  /** When a frame (of any group, or an empty beat) last came from it, on the scheduler's clock. */
  lastHeard: number;
  /** Whether a frame went to it since the last beat: then it needs no empty one. */
  sentSinceBeat: boolean;
  /** Reported down to the groups and not heard from since. */
  down: boolean;
}

export interface GroupMuxStats {
  /** Frames handed to the transport: at most one per destination per event-loop turn. */
  readonly framesSent: number;
  /** Messages those frames carried, of every group. */
  readonly messagesSent: number;
  /** Incoming messages dropped because their group is not hosted here. */
  readonly refusedMessages: number;
}

/**
 * Many Raft groups of one node over one PeerTransport (so one connection per node pair). Every group gets a
 * PeerTransport of its own (`channel`); what the groups send to one destination in one event-loop turn
 * leaves as one frame, an array of Raft messages where a message of group g ≠ 0 carries `group: g`.
 *
 * Messages for a group this node does not host are dropped and counted (the sender's Raft retries, and a
 * group being created or destroyed here is normal); a malformed group id makes the frame malformed, which
 * the transport answers by closing the connection, as for any malformed frame.
 */
export class GroupMux {
  private readonly transport: PeerTransport;
  private readonly scheduler: Scheduler;
  private readonly channels = new Map<number, Channel>();
  private readonly outgoing = new Map<string, unknown[]>();
  private flushScheduled = false;
  private readonly peers = new Map<string, PeerBeat>();
  private stats = { framesSent: 0, messagesSent: 0, refusedMessages: 0 };

  constructor(transport: PeerTransport, scheduler: Scheduler) {
    this.transport = transport;
    this.scheduler = scheduler;
    transport.onMessage((from, frame) => this.receive(from, frame));
    transport.onRequest((from, payload) => this.answer(from, payload));
    transport.onPeerDown((peer) => this.peerDown(peer));
  }

  start(): Promise<void> {
    return this.transport.start();
  }

  stop(): Promise<void> {
    this.outgoing.clear();
    return this.transport.stop();
  }

  get groups(): number[] {
    return [...this.channels.keys()];
  }

  counters(): GroupMuxStats {
    return { ...this.stats };
  }

  /**
   * The transport of group `group` on this node. Its `start` does nothing (the mux's own does), its `stop`
   * detaches the group, after which messages for it are refused.
   */
  channel(group: number): PeerTransport {
    assertGroupId(group);
    if (this.channels.has(group)) throw new Error(`group ${group} already has a channel`);
    const channel: Channel = {
      messageHandler: null,
      requestHandler: null,
      peerDownHandler: null,
      retained: null,
    };
    this.channels.set(group, channel);
    return {
      start: async () => {},
      stop: async () => {
        if (this.channels.get(group) === channel) this.channels.delete(group);
        this.retainUnion();
      },
      send: (to, message) => this.send(group, to, message),
      request: <T>(to: string, payload: unknown, timeoutMs: number) =>
        this.transport.request<T>(to, group === DEFAULT_GROUP ? payload : wrap(group, payload), timeoutMs),
      onMessage: (handler) => {
        channel.messageHandler = handler;
      },
      onRequest: (handler) => {
        channel.requestHandler = handler;
      },
      onPeerDown: (handler) => {
        channel.peerDownHandler = handler;
      },
      retain: (members) => {
        channel.retained = [...members];
        this.retainUnion();
      },
    };
  }

  /** A group hands over the messages of one Ready for a peer (an array, as RaftNode sends them). */
  private send(group: number, to: string, messages: unknown): void {
    if (!Array.isArray(messages)) throw new Error('a group sends arrays of Raft messages');
    let frame = this.outgoing.get(to);
    if (frame === undefined) {
      frame = [];
      this.outgoing.set(to, frame);
    }
    for (const message of messages) frame.push(group === DEFAULT_GROUP ? message : { ...message, group });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // On a later turn: the groups whose Readies are processed in this turn join the same frames.
    this.scheduler.defer(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const frames = [...this.outgoing];
    this.outgoing.clear();
    for (const [to, frame] of frames) {
      this.peer(to).sentSinceBeat = true;
      this.stats.framesSent++;
      this.stats.messagesSent += frame.length;
      this.transport.send(to, frame);
    }
  }

  /** Splits a frame by group; throws (after delivering the rest) when it or one group's part is malformed. */
  private receive(from: string, frame: unknown): void {
    if (!Array.isArray(frame)) throw new Error(`malformed Raft frame from ${from}`);
    const peer = this.peer(from);
    peer.lastHeard = this.scheduler.now();
    peer.down = false;
    const byGroup = new Map<number, unknown[]>();
    for (const message of frame) {
      const group = groupOf(message);
      if (group === null) throw new Error(`malformed group id in a frame from ${from}`);
      const list = byGroup.get(group);
      if (list) list.push(message);
      else byGroup.set(group, [message]);
    }
    let failure: unknown = null;
    for (const [group, messages] of byGroup) {
      const handler = this.channels.get(group)?.messageHandler;
      if (!handler) {
        this.stats.refusedMessages += messages.length;
        continue;
      }
      try {
        handler(from, messages);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
  }

  private answer(from: string, payload: unknown): Promise<unknown> {
    let group = DEFAULT_GROUP;
    let body = payload;
    if (isGroupRequest(payload)) {
      group = payload.group;
      body = payload.body;
    }
    const handler = this.channels.get(group)?.requestHandler;
    if (!handler) return Promise.reject(new Error(`unknown group ${group}`));
    return handler(from, body);
  }

  /**
   * Liveness per node pair, for quiet groups that send nothing (raft/quiescence.ts): every peer that got no
   * frame since the last beat gets an empty one, and a peer not heard from for `timeoutMs` is reported to
   * every group as unreachable (once, until heard from again), which wakes the quiet groups it leads or
   * follows. Called by the host every few ticks.
   */
  beat(timeoutMs: number): void {
    const now = this.scheduler.now();
    for (const [id, peer] of this.peers) {
      if (!peer.sentSinceBeat) {
        this.stats.framesSent++;
        this.transport.send(id, []);
      }
      peer.sentSinceBeat = false;
      if (!peer.down && now - peer.lastHeard > timeoutMs) {
        peer.down = true;
        this.peerDown(id);
      }
    }
  }

  /**
   * Reports `id` unreachable to every group now, as a silent peer would be: for a peer known to have
   * restarted without its memory, whose new process's beats would otherwise keep quiet groups it led asleep.
   */
  reportPeerLost(id: string): void {
    this.peerDown(id);
  }

  private peer(id: string): PeerBeat {
    let peer = this.peers.get(id);
    if (peer === undefined) {
      // Heard from or not, a new peer gets a full timeout before it is reported down.
      peer = { lastHeard: this.scheduler.now(), sentSinceBeat: false, down: false };
      this.peers.set(id, peer);
    }
    return peer;
  }

  private peerDown(id: string): void {
    for (const channel of this.channels.values()) channel.peerDownHandler?.(id);
  }

  /** Links stay open to every member of any hosted group; only once all groups said whom they need. */
  private retainUnion(): void {
    const members = new Set<string>();
    for (const channel of this.channels.values()) {
      if (channel.retained === null) return;
      for (const id of channel.retained) members.add(id);
    }
    if (this.channels.size === 0) return;
    for (const id of this.peers.keys()) if (!members.has(id)) this.peers.delete(id);
    this.transport.retain?.([...members]);
  }
}

function wrap(group: number, body: unknown): GroupRequest {
  return { kind: 'group', group, body };
}

function isGroupRequest(payload: unknown): payload is GroupRequest {
  if (typeof payload !== 'object' || payload === null) return false;
  const request = payload as Partial<GroupRequest>;
  return request.kind === 'group' && isGroupId(request.group) && request.group !== DEFAULT_GROUP;
}

/** The group a message is for (absent: group 0), or null when its group id is malformed. */
function groupOf(message: unknown): number | null {
  if (typeof message !== 'object' || message === null) return DEFAULT_GROUP;
  const group = (message as { group?: unknown }).group;
  if (group === undefined) return DEFAULT_GROUP;
  return isGroupId(group) ? group : null;
}

function isGroupId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_GROUP_ID;
}

export function assertGroupId(group: number): void {
  if (!isGroupId(group)) throw new Error(`a group id is an integer from 0 to ${MAX_GROUP_ID}, got ${group}`);
}
