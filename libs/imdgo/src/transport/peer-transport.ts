/**
 * How a node talks to its peers. A peer id is the `host:port` of that member;
 * the transport's own id is given at construction.
 */
export interface PeerTransport {
  /** Listens on the own address. */
  start(): Promise<void>;
  /** Closes the server and all connections, releasing the port and every timer. */
  stop(): Promise<void>;
  /** One-way and fire-and-forget: may drop (Raft retries), never throws. */
  send(to: string, message: unknown): void;
  /** Rejects with a PeerTransportError on timeout, disconnect, overload or remote error. */
  request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T>;
  onMessage(handler: (from: string, message: unknown) => void): void;
  onRequest(handler: (from: string, payload: unknown) => Promise<unknown>): void;
  /**
   * Closes what is kept for peers not in `members` (the cluster's current members), which a later send
   * to them opens again. Optional: a transport that keeps nothing per peer has nothing to close.
   */
  retain?(members: readonly string[]): void;
  /** Learns when an established connection to a peer closes: a hint that the peer died, never proof. */
  onPeerDown(handler: (peer: string) => void): void;
}
