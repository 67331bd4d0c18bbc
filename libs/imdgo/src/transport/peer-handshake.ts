import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { isPeerId } from './peer-address.ts';

/** Bytes of each side's nonce and of each proof (HMAC-SHA256). */
export const HANDSHAKE_BYTES = 32;
/** Every handshake frame is far below this: a larger one is not a handshake and is refused unread. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;
export const MIN_CLUSTER_SECRET_LENGTH = 16;
/**
 * The peer protocol this release speaks, in its challenge and response: members of another (or, without
 * the field, of a release before it existed) are refused. Raise it whenever a release changes what crosses
 * between members (messages, log entries, snapshots), so that mixed releases never form a cluster.
 */
export const PEER_PROTOCOL_VERSION = 5;

/**
 * The three handshake frames, in the order they cross. Their `auth` key is never in a Nest packet. Releases
 * before protocol versions send no `version`.
 */
export type HandshakeFrame =
  | { auth: 'challenge'; nonce: Uint8Array; version?: number }
  | { auth: 'response'; nonce: Uint8Array; from: string; to: string; proof: Uint8Array; version?: number }
  | { auth: 'accept'; proof: Uint8Array };

/** A handshake that cannot succeed: wrong secret, or a frame that does not belong at this point. */
export class HandshakeError extends Error {
  override name = 'HandshakeError';
}

/** The peer speaks another peer protocol version (`theirs`; null when it names none: an older release). */
export class ProtocolVersionError extends HandshakeError {
  override name = 'ProtocolVersionError';
  constructor(
    /** The member on the other side: the one dialled, or the client that proved the secret. */
    readonly peer: string,
    readonly theirs: number | null,
  ) {
    super(
      `the peer ${peer} speaks peer protocol ${theirs ?? 'none (a release before protocol versions)'}, ` +
        `this member ${PEER_PROTOCOL_VERSION}: every member must run the same imdgo release; ` +
        'upgrade by stopping every member and starting them all on one release',
    );
  }
}

export interface PeerHandshakeOptions {
  /** The accepting side challenges; the connecting side answers. */
  role: 'server' | 'client';
  secret: string;
  /** This member's id. */
  self: string;
  /** The client's only: the member id it dialled, which the server must be. */
  peer?: string;
}

/**
 * The HMAC key: the secret through HKDF-SHA256, so that the key is uniform and used for nothing else.
 * HKDF does not slow down guessing: an eavesdropper who records one handshake can test guesses of the
 * secret offline, so the secret must be random (128 bits or more), not a password.
 */
export function handshakeKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'imdgo-peer-auth', 'imdgo-peer-auth-v2 hmac-sha256', 32));
}

/**
 * Mutual authentication of one peer connection with the shared cluster secret, by HMAC challenge-response,
 * K = handshakeKey(secret), C the client's member id and S the member id it dialled:
 *
 *   server → client  challenge  Ns, Vs                              (sent as soon as the connection is accepted)
 *   client → server  response   Nc, C, S, HMAC(K, "client" ‖ C ‖ S ‖ Ns ‖ Nc), Vc
 *   server → client  accept     HMAC(K, "server" ‖ C ‖ S ‖ Ns ‖ Nc)
 *
 * The server refuses a response for another member than itself, and the connection then speaks for C
 * alone. Both ids are in both proofs, so a proof made for one pair of members is worth nothing between
 * others: whoever holds a member's address cannot relay that member's own challenge to it and back
 * (it signs for "C dials S", never for "S dials S"). Fresh nonces keep a proof from being replayed on
 * another connection; the role labels keep one direction from being reflected as the other. The secret
 * never crosses the wire. Without TLS the connection is authenticated but not encrypted: an active
 * man-in-the-middle on the path could still relay a handshake and then read the traffic.
 *
 * Vs and Vc are each side's PEER_PROTOCOL_VERSION: the client refuses another before it answers, the
 * server once the client's proof holds (so that only secret holders can have a refusal logged in their
 * name). The proofs leave the versions out and are those of releases before them, so that a member of an
 * older release that holds the secret is told apart from a stranger and named.
 */
export class PeerHandshake {
  private readonly role: 'server' | 'client';
  private readonly key: Buffer;
  private readonly self: string;
  /** The client's member id once known (the client's own id on the client). */
  private client: string | null = null;
  private server: string | null = null;
  private serverNonce: Buffer | null = null;
  private clientNonce: Buffer | null = null;
  private done = false;

  constructor(options: PeerHandshakeOptions) {
    this.role = options.role;
    this.key = handshakeKey(options.secret);
    this.self = options.self;
    if (options.role === 'client') {
      if (options.peer === undefined) throw new Error('a client handshake needs the dialled member id');
      this.client = options.self;
      this.server = options.peer;
    } else {
      this.server = options.self;
    }
  }

  get authenticated(): boolean {
    return this.done;
  }

  /** The member on the other side, once authenticated. */
  get peer(): string | null {
    if (!this.done) return null;
    return this.role === 'server' ? this.client : this.server;
  }

  /** The server's opening frame. */
  challenge(): HandshakeFrame {
    if (this.role !== 'server' || this.serverNonce !== null) throw new HandshakeError('challenge sent twice');
    this.serverNonce = randomBytes(HANDSHAKE_BYTES);
    return { auth: 'challenge', nonce: this.serverNonce, version: PEER_PROTOCOL_VERSION };
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
        checkVersion(this.server!, frame);
        this.serverNonce = Buffer.from(frame.nonce);
        this.clientNonce = randomBytes(HANDSHAKE_BYTES);
        const [from, to] = [this.client!, this.server!];
        const proof = this.proof('client');
        return { auth: 'response', nonce: this.clientNonce, from, to, proof, version: PEER_PROTOCOL_VERSION };
      }
      if (frame.auth === 'accept' && this.clientNonce !== null) {
        this.verify(frame.proof, 'server');
        this.done = true;
        return null;
      }
    } else if (frame.auth === 'response' && this.serverNonce !== null && this.clientNonce === null) {
      if (frame.to !== this.self) {
        throw new HandshakeError(`the client dialled ${frame.to}, not this member (${this.self})`);
      }
      this.client = frame.from;
      this.clientNonce = Buffer.from(frame.nonce);
      this.verify(frame.proof, 'client');
      checkVersion(frame.from, frame);
      this.done = true;
      return { auth: 'accept', proof: this.proof('server') };
    }
    throw new HandshakeError(`unexpected handshake frame "${frame.auth}"`);
  }

  private verify(proof: Uint8Array, of: 'server' | 'client'): void {
    if (!timingSafeEqual(proof, this.proof(of))) {
      throw new HandshakeError(`wrong ${of} proof: the peer does not hold the same cluster secret`);
    }
  }

  private proof(of: 'server' | 'client'): Buffer {
    // JSON keeps the fields apart: no pair of ids can be re-split into another.
    return createHmac('sha256', this.key)
      .update(JSON.stringify(['imdgo-peer-auth-v2', of, this.client, this.server]))
      .update(this.serverNonce!)
      .update(this.clientNonce!)
      .digest();
  }
}

function checkVersion(peer: string, frame: { version?: number }): void {
  if (frame.version !== PEER_PROTOCOL_VERSION) throw new ProtocolVersionError(peer, frame.version ?? null);
}

/** Challenges and responses are taken with or without a version, so that a missing one can be named. */
function asHandshakeFrame(value: unknown): HandshakeFrame | null {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return null;
  }
  const frame = value as Record<string, unknown>;
  if ('version' in frame && !Number.isSafeInteger(frame.version)) return null;
  const keys = Object.keys(frame)
    .filter((key) => key !== 'version' || frame.auth === 'accept')
    .sort()
    .join(',');
  switch (frame.auth) {
    case 'challenge':
      return keys === 'auth,nonce' && sized(frame.nonce) ? (frame as HandshakeFrame) : null;
    case 'response':
      return keys === 'auth,from,nonce,proof,to' &&
        sized(frame.nonce) &&
        sized(frame.proof) &&
        isPeerId(frame.from) &&
        isPeerId(frame.to)
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
