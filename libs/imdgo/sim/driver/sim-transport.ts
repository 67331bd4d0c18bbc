import type { NodeId } from '../../src/raft/types.ts';
import { wireClone } from '../../src/transport/msgpack-codec.ts';
import { PeerTransportError } from '../../src/transport/peer-transport-error.ts';
import type { PeerTransport } from '../../src/transport/peer-transport.ts';
import type { SimNetwork } from '../sim-network.ts';
import type { SimProcess, VirtualTime } from './virtual-time.ts';

/** A message or request in flight: delivering it is running this. */
export type Delivery = () => void;

/**
 * The simulated network between node processes: who listens at each id now, and a SimNetwork that decides
 * whether and when each message arrives (loss, duplication, delay, reordering, partitions, clogging).
 */
export class SimWire {
  readonly network: SimNetwork<Delivery>;
  private readonly time: VirtualTime;
  private readonly endpoints = new Map<NodeId, SimTransport>();
  /** Frames a receiver refused (its handler threw): a real transport closes the connection. */
  refusedFrames = 0;

  constructor(time: VirtualTime, network: SimNetwork<Delivery>) {
    this.time = time;
    this.network = network;
  }

  /** A transport for one process of node `id`; it listens once started. */
  transport(id: NodeId, process: SimProcess): SimTransport {
    return new SimTransport(this, id, process);
  }

  attach(endpoint: SimTransport): void {
    this.endpoints.set(endpoint.id, endpoint);
  }

  detach(endpoint: SimTransport): void {
    if (this.endpoints.get(endpoint.id) === endpoint) this.endpoints.delete(endpoint.id);
  }

  /** Sends one delivery from `from` to `to` through the faulty network; duplicates only if `mayDuplicate`. */
  route(from: NodeId, to: NodeId, deliver: (endpoint: SimTransport) => void, mayDuplicate: boolean): void {
    const delivery: Delivery = () => this.deliver(to, deliver);
    const delays = this.network.route(from, to, delivery);
    for (const delay of mayDuplicate ? delays : delays.slice(0, 1))
      this.time.at(this.time.now + delay, delivery);
  }

  /** Whoever listens at `to` when it arrives gets it; a paused process gets it when it resumes. */
  private deliver(to: NodeId, deliver: (endpoint: SimTransport) => void): void {
    const endpoint = this.endpoints.get(to);
    if (!endpoint || !endpoint.process.alive) return;
    endpoint.process.at(this.time.now, () => deliver(endpoint));
  }

  /** Tells every other listening process, after `delayMs`, that its connection to `peer` closed. */
  signalPeerDown(peer: NodeId, delayMs: number): void {
    for (const endpoint of this.endpoints.values()) {
      if (endpoint.id === peer) continue;
      endpoint.process.at(this.time.now + delayMs, () => endpoint.peerDown(peer));
    }
  }
}

/** One process's PeerTransport over the SimWire. Its timers and deliveries die with its process. */
export class SimTransport implements PeerTransport {
  readonly id: NodeId;
  readonly process: SimProcess;
  private readonly wire: SimWire;
  private messageHandler: ((from: string, message: unknown) => void) | null = null;
  private requestHandler: ((from: string, payload: unknown) => Promise<unknown>) | null = null;
  private peerDownHandler: ((peer: string) => void) | null = null;
  private listening = false;

  constructor(wire: SimWire, id: NodeId, process: SimProcess) {
    this.wire = wire;
    this.id = id;
    this.process = process;
  }

  async start(): Promise<void> {
    this.listening = true;
    this.wire.attach(this);
  }

  async stop(): Promise<void> {
    this.listening = false;
    this.wire.detach(this);
  }

  send(to: string, message: unknown): void {
    // A crashed process sends nothing more, even from the code still running in its last turn.
    if (!this.listening || !this.process.alive) return;
    const copy = wireClone(message);
    this.wire.route(
      this.id,
      to,
      (endpoint) => {
        try {
          endpoint.messageHandler?.(this.id, copy);
        } catch {
          this.wire.refusedFrames++;
        }
      },
      true,
    );
  }

  request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T> {
    if (!this.process.alive) return new Promise<T>(() => {});
    if (!this.listening) return Promise.reject(new PeerTransportError('stopped', to, 'transport stopped'));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.process.setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new PeerTransportError('timeout', to, `request to ${to} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const copy = wireClone(payload);
      this.wire.route(
        this.id,
        to,
        (endpoint) => {
          void endpoint.answer(this.id, copy).then((reply) => {
            // The reply travels back over the same faulty network; the requester may be gone by then.
            this.wire.route(
              to,
              this.id,
              (requester) => {
                if (requester !== this || settled) return;
                settled = true;
                this.process.clearTimeout(timer);
                if ('result' in reply) resolve(reply.result as T);
                else reject(new PeerTransportError('remote', to, reply.error));
              },
              false,
            );
          });
        },
        false,
      );
    });
  }

  onMessage(handler: (from: string, message: unknown) => void): void {
    this.messageHandler = handler;
  }

  onRequest(handler: (from: string, payload: unknown) => Promise<unknown>): void {
    this.requestHandler = handler;
  }

  onPeerDown(handler: (peer: string) => void): void {
    this.peerDownHandler = handler;
  }

  peerDown(peer: NodeId): void {
    this.peerDownHandler?.(peer);
  }

  private async answer(from: NodeId, payload: unknown): Promise<{ result: unknown } | { error: string }> {
    try {
      if (!this.requestHandler) throw new Error(`${this.id} has no request handler`);
      return { result: wireClone(await this.requestHandler(from, payload)) };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }
}
