import type { PeerTransport } from './peer-transport.ts';
import { PeerTransportError } from './peer-transport-error.ts';

/**
 * Wraps a transport so tests can cut links between real processes without root: messages and requests to
 * or from a blocked peer are dropped, as a network partition would. Enabled only by the `faultInjection`
 * option; a production node never has one.
 */
export class FaultInjectingTransport implements PeerTransport {
  private readonly inner: PeerTransport;
  private readonly blocked = new Set<string>();

  constructor(inner: PeerTransport) {
    this.inner = inner;
  }

  /** Drops all traffic with these peers, both ways, until `heal`. */
  block(peers: readonly string[]): void {
    for (const peer of peers) this.blocked.add(peer);
  }

  heal(): void {
    this.blocked.clear();
  }

  blockedPeers(): string[] {
    return [...this.blocked];
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  send(to: string, message: unknown): void {
    if (!this.blocked.has(to)) this.inner.send(to, message);
  }

  request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T> {
    if (!this.blocked.has(to)) return this.inner.request<T>(to, payload, timeoutMs);
    // Like a partition: nothing comes back, and the caller finds out when its timeout runs out.
    return new Promise((_, reject) => {
      const timer = setTimeout(
        () => reject(new PeerTransportError('timeout', to, 'partitioned (fault injection)')),
        timeoutMs,
      );
      timer.unref();
    });
  }

  retain(members: readonly string[]): void {
    this.inner.retain?.(members);
  }

  onMessage(handler: (from: string, message: unknown) => void): void {
    this.inner.onMessage((from, message) => {
      if (!this.blocked.has(from)) handler(from, message);
    });
  }

  onPeerDown(handler: (peer: string) => void): void {
    this.inner.onPeerDown(handler);
  }

  onRequest(handler: (from: string, payload: unknown) => Promise<unknown>): void {
    this.inner.onRequest((from, payload) =>
      this.blocked.has(from) ? new Promise<never>(() => {}) : handler(from, payload),
    );
  }
}
