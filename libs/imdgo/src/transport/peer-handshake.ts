import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of each side's nonce and of each proof (HMAC-SHA256). */
export const HANDSHAKE_BYTES = 32;
/** Every handshake frame is far below this: a larger one is not a handshake and is refused unread. */
export const HANDSHAKE_MAX_FRAME_BYTES = 256;
export const MIN_CLUSTER_SECRET_LENGTH = 16;

/** The three handshake frames, in the order they cross. Their `auth` key is never in a Nest packet. */
export type HandshakeFrame =
  | { auth: 'challenge'; nonce: Uint8Array }
  | { auth: 'response'; nonce: Uint8Array; proof: Uint8Array }
  | { auth: 'accept'; proof: Uint8Array };

/** A handshake that cannot succeed: wrong secret, or a frame that does not belong at this point. */
export class HandshakeError extends Error {
  override name = 'HandshakeError';
}

/**
 * Mutual authentication of one peer connection with the shared cluster secret, by HMAC challenge-response:
 *
 *   server → client  challenge  Ns                                  (sent as soon as the connection is accepted)
 *   client → server  response   Nc, HMAC(secret, "client" ‖ Ns ‖ Nc)
 *   server → client  accept     HMAC(secret, "server" ‖ Ns ‖ Nc)
 *
 * The server learns the client holds the secret, then the client learns the server does. Both nonces are
 * fresh random bytes, so no proof can be replayed on another connection, and the role labels keep a proof
 * of one direction from being reflected as the other. The secret never crosses the wire. Without TLS the
 * connection is authenticated but not encrypted: an active man-in-the-middle could still relay a
 * handshake and then read the traffic, which is what the `tls` option is for.
 */
export class PeerHandshake {
  private readonly role: 'server' | 'client';
  private readonly secret: string;
  private serverNonce: Buffer | null = null;
  private clientNonce: Buffer | null = null;
  private done = false;

  constructor(role: 'server' | 'client', secret: string) {
    this.role = role;
    this.secret = secret;
  }

  get authenticated(): boolean {
    return this.done;
  }

  /** The server's opening frame. */
  challenge(): HandshakeFrame {
    if (this.role !== 'server' || this.serverNonce !== null) throw new HandshakeError('challenge sent twice');
    this.serverNonce = randomBytes(HANDSHAKE_BYTES);
    return { auth: 'challenge', nonce: this.serverNonce };
  }

  /**
   * Takes the peer's next frame (already decoded) and returns the frame to answer with, if any; throws a
   * HandshakeError when it is not the expected frame or its proof is wrong.
   */
  receive(value: unknown): HandshakeFrame | null {
    if (this.done) throw new HandshakeError('handshake already complete');
    const frame = asHandshakeFrame(value);
    if (frame === null) throw new HandshakeError('not a handshake frame');
    if (this.role === 'client') {
      if (frame.auth === 'challenge' && this.serverNonce === null) {
        this.serverNonce = Buffer.from(frame.nonce);
        this.clientNonce = randomBytes(HANDSHAKE_BYTES);
        return { auth: 'response', nonce: this.clientNonce, proof: this.proof('client') };
      }
      if (frame.auth === 'accept' && this.clientNonce !== null) {
        this.verify(frame.proof, 'server');
        return null;
      }
    } else if (frame.auth === 'response' && this.serverNonce !== null && this.clientNonce === null) {
      this.clientNonce = Buffer.from(frame.nonce);
      this.verify(frame.proof, 'client');
      return { auth: 'accept', proof: this.proof('server') };
    }
    throw new HandshakeError(`unexpected handshake frame "${frame.auth}"`);
  }

  private verify(proof: Uint8Array, of: 'server' | 'client'): void {
    if (!timingSafeEqual(proof, this.proof(of))) {
      throw new HandshakeError(`wrong ${of} proof: the peer does not hold the same cluster secret`);
    }
    this.done = true;
  }

  private proof(of: 'server' | 'client'): Buffer {
    return createHmac('sha256', this.secret)
      .update(`imdgo-peer-auth-v1 ${of}\n`)
      .update(this.serverNonce!)
      .update(this.clientNonce!)
      .digest();
  }
}

function asHandshakeFrame(value: unknown): HandshakeFrame | null {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return null;
  }
  const frame = value as Record<string, unknown>;
  const keys = Object.keys(frame).sort().join(',');
  switch (frame.auth) {
    case 'challenge':
      return keys === 'auth,nonce' && sized(frame.nonce) ? (frame as HandshakeFrame) : null;
    case 'response':
      return keys === 'auth,nonce,proof' && sized(frame.nonce) && sized(frame.proof)
        ? (frame as HandshakeFrame)
        : null;
    case 'accept':
      return keys === 'auth,proof' && sized(frame.proof) ? (frame as HandshakeFrame) : null;
    default:
      return null;
  }
}

function sized(bytes: unknown): boolean {
  return bytes instanceof Uint8Array && bytes.byteLength === HANDSHAKE_BYTES;
}
