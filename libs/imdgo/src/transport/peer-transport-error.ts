export type PeerTransportErrorCode =
  /** No reply within the request's timeout. */
  | 'timeout'
  /** The peer cannot be reached now (down, partitioned, reconnecting). */
  | 'unavailable'
  /** The connection was lost while the request was in flight. */
  | 'disconnected'
  /** Too many requests to that peer are already in flight. */
  | 'overloaded'
  /** The peer's request handler failed; the message is the remote one. */
  | 'remote'
  /** The request could not be encoded or sent. */
  | 'send-failed'
  /** This transport is stopped. */
  | 'stopped';

/** Why a `PeerTransport#request` was rejected. */
export class PeerTransportError extends Error {
  override name = 'PeerTransportError';
  readonly code: PeerTransportErrorCode;
  readonly peer: string;

  constructor(code: PeerTransportErrorCode, peer: string, message: string) {
    super(message);
    this.code = code;
    this.peer = peer;
  }
}
