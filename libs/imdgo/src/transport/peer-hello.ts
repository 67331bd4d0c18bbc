import {
  HandshakeError,
  PEER_PROTOCOL_VERSION,
  ProtocolVersionError,
  type HandshakeFrame,
} from './peer-handshake.ts';

export type HelloFrame = { auth: 'hello'; version: number };

/**
 * The handshake of a connection without a cluster secret: the server's hello, then the client's, each
 * with the sender's PEER_PROTOCOL_VERSION, so that members of different releases are refused as with a
 * secret (see PeerHandshake). It proves nothing: without a secret, anything that reaches the peer port is a
 * peer.
 */
export class PeerHello {
  private readonly role: 'server' | 'client';
  /** Who is on the other side, for errors: the member dialled, or the address a connection came from. */
  readonly other: string;
  private opened = false;
  private done = false;

  constructor(role: 'server' | 'client', other: string) {
    this.role = role;
    this.other = other;
  }

  get authenticated(): boolean {
    return this.done;
  }

  /** Nothing is proved: the connection speaks for whoever its first envelope names. */
  get peer(): null {
    return null;
  }

  /** The server's opening frame. */
  challenge(): HelloFrame {
    if (this.role !== 'server' || this.opened) throw new HandshakeError('hello sent twice');
    this.opened = true;
    return { auth: 'hello', version: PEER_PROTOCOL_VERSION };
  }

  /** The client answers the server's hello with its own; either refuses another version. */
  receive(value: unknown): HandshakeFrame | HelloFrame | null {
    if (this.done) throw new HandshakeError('handshake already complete');
    if (!isHello(value)) throw new HandshakeError('not a hello frame');
    if (this.role === 'server' && !this.opened)
      throw new HandshakeError("the client's hello before the server's");
    if (value.version !== PEER_PROTOCOL_VERSION) throw new ProtocolVersionError(this.other, value.version);
    this.done = true;
    return this.role === 'client' ? { auth: 'hello', version: PEER_PROTOCOL_VERSION } : null;
  }
}

function isHello(value: unknown): value is HelloFrame {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return false;
  }
  const frame = value as Record<string, unknown>;
  const keys = Object.keys(frame).sort().join(',');
  return keys === 'auth,version' && frame.auth === 'hello' && Number.isSafeInteger(frame.version);
}
