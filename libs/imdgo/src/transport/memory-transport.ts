import { wireClone } from './msgpack-codec.ts';
import { PeerTransportError } from './peer-transport-error.ts';
import type { PeerTransport } from './peer-transport.ts';

const linkKey = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);

/** The network shared by the MemoryTransports of a test: who is up, and which links are cut. */
export class MemoryHub {
  private readonly members = new Map<string, MemoryTransport>();
  private readonly cuts = new Set<string>();

  /** Drops everything between `a` and `b`, both ways, until `heal()`. */
  disconnect(a: string, b: string): void {
    this.cuts.add(linkKey(a, b));
  }

  heal(): void {
    this.cuts.clear();
  }

  isUp(id: string): boolean {
    return this.members.has(id);
  }

  join(member: MemoryTransport): void {
    if (this.members.has(member.id)) {
      throw new Error(`${member.id} is already on this hub`);
    }
    this.members.set(member.id, member);
  }

  leave(member: MemoryTransport): void {
    if (this.members.get(member.id) === member) {
      this.members.delete(member.id);
    }
  }

  /** The receiver, if a message from `from` reaches `to` now. */
  route(from: string, to: string): MemoryTransport | undefined {
    if (!this.members.has(from) || this.cuts.has(linkKey(from, to))) {
      return undefined;
    }
    return this.members.get(to);
  }
}

/**
 * In-process PeerTransport for tests. Delivery is asynchronous (setImmediate)
 * and copies values through the wire codec, so receivers never share objects
 * with senders and see what TCP would give them. A message or request across a
 * cut link is lost (requests then time out); a request to a member that is not
 * up fails fast, as the TCP transport's does while reconnecting. Handler
 * exceptions are not caught, so that tests see them.
 */
export class MemoryTransport implements PeerTransport {
  readonly id: string;
  private readonly hub: MemoryHub;
  /** Rejects a pending request as stopped. */
  private readonly pending = new Set<() => void>();
  private messageHandler: ((from: string, message: unknown) => void) | null = null;
  private requestHandler: ((from: string, payload: unknown) => Promise<unknown>) | null = null;

  constructor(hub: MemoryHub, id: string) {
    this.hub = hub;
    this.id = id;
  }

  async start(): Promise<void> {
    this.hub.join(this);
  }

  async stop(): Promise<void> {
    this.hub.leave(this);
    for (const abort of this.pending) {
      abort();
    }
  }

  send(to: string, message: unknown): void {
    let copy: unknown;
    try {
      copy = wireClone(message);
    } catch {
      return;
    }
    setImmediate(() => this.hub.route(this.id, to)?.messageHandler?.(this.id, copy));
  }

  request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T> {
    if (!this.hub.isUp(this.id)) {
      return Promise.reject(new PeerTransportError('stopped', to, 'transport stopped'));
    }
    if (!this.hub.isUp(to)) {
      return Promise.reject(new PeerTransportError('unavailable', to, `${to} is unreachable`));
    }
    return new Promise<T>((resolve, reject) => {
      const settle = (finish: () => void): void => {
        if (this.pending.delete(abort)) {
          clearTimeout(timer);
          finish();
        }
      };
      const fail = (error: PeerTransportError): void => settle(() => reject(error));
      const abort = (): void => fail(new PeerTransportError('stopped', to, 'transport stopped'));
      const timer = setTimeout(
        () => fail(new PeerTransportError('timeout', to, `request to ${to} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.add(abort);
      let copy: unknown;
      try {
        copy = wireClone(payload);
      } catch (error) {
        fail(new PeerTransportError('send-failed', to, (error as Error).message));
        return;
      }
      setImmediate(async () => {
        const target = this.hub.route(this.id, to);
        if (target === undefined) {
          return;
        }
        let reply: () => void;
        try {
          const result = wireClone(await target.answer(this.id, copy));
          reply = () => settle(() => resolve(result as T));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          reply = () => fail(new PeerTransportError('remote', to, message));
        }
        setImmediate(() => this.hub.route(to, this.id) && reply());
      });
    });
  }

  onMessage(handler: (from: string, message: unknown) => void): void {
    this.messageHandler = handler;
  }

  /** In-process peers have no connections to lose. */
  onPeerDown(): void {}

  onRequest(handler: (from: string, payload: unknown) => Promise<unknown>): void {
    this.requestHandler = handler;
  }

  private async answer(from: string, payload: unknown): Promise<unknown> {
    if (this.requestHandler === null) {
      throw new Error(`${this.id} has no request handler`);
    }
    return this.requestHandler(from, payload);
  }
}
