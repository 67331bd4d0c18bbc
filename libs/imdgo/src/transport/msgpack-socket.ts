import { Logger, type Type } from '@nestjs/common';
import { TcpSocket } from '@nestjs/microservices';
import type { Socket } from 'node:net';
import { FRAME_HEADER_BYTES, packFrame, unpackBody } from './msgpack-codec.ts';
import { packetFromWire, packetToWire } from './packet-layout.ts';
import { HANDSHAKE_MAX_FRAME_BYTES, PeerHandshake, ProtocolVersionError } from './peer-handshake.ts';
import { PeerHello } from './peer-hello.ts';
import { RateLimitedLog } from './rate-limited-log.ts';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
export const DEFAULT_KEEP_ALIVE_MS = 5_000;
/** Emitted on the wrapped net socket once the cluster-secret handshake has succeeded. */
export const PEER_AUTHENTICATED = 'imdgo:peer-authenticated';

export interface MsgpackSocketOptions {
  /** Largest frame body accepted or sent, in bytes (default 64 MiB). */
  maxFrameBytes?: number;
  /** Idle time before TCP keepalive probes start, in ms (default 5 s). */
  keepAliveMs?: number;
  /**
   * Before any packet passes, exchange protocol versions and, with a secret, authenticate with it (see
   * peer-handshake.ts, peer-hello.ts).
   */
  handshake?: HandshakeOptions;
  /**
   * What the peer may send: only responses (the socket of a client), or only requests and events with
   * one of these patterns (of a server). Anything else drops the connection. Default: any Nest packet.
   */
  expects?: 'responses' | readonly string[];
  /**
   * Called once the peer is authenticated: when the handshake succeeds, or at once without one (a TLS
   * connection is wrapped only after its handshake).
   */
  onAuthenticated?: (socket: MsgpackSocket) => void;
  /** Where failures before authentication are logged (default: a log of this class's own). */
  handshakeLog?: RateLimitedLog;
  /**
   * Told of a handshake refused because the peer speaks another protocol version, instead of the
   * rate-limited drop line (see NestTcpTransport, which logs it once per peer).
   */
  onVersionRefused?: (error: ProtocolVersionError) => void;
  /**
   * Events (packets without an id) of this pattern go to `handle`, synchronously, instead of through
   * Nest's dispatch, which costs a failed `JSON.parse` of the pattern, promises and hooks per event. What
   * `handle` throws drops the connection.
   */
  events?: { pattern: string; handle: (socket: MsgpackSocket, data: unknown) => void };
}

export interface HandshakeOptions {
  /** The accepting side challenges; the connecting side answers. */
  role: 'server' | 'client';
  /** The cluster secret; without one the handshake only exchanges protocol versions. */
  secret?: string;
  /** This member's id. */
  self: string;
  /** The client's only: the member id it dialled. */
  peer?: string;
  /** A connection not authenticated this long after it was wrapped is dropped. */
  timeoutMs: number;
}

/** A frame that cannot be accepted; the connection it came on is dropped. */
export class FrameError extends Error {
  override name = 'FrameError';
  constructor(
    message: string,
    /** Already reported: the drop is not logged again. */
    readonly reported = false,
  ) {
    super(message);
  }
}

const REQUEST_KEYS = new Set(['pattern', 'data', 'id', 'metadata']);
const RESPONSE_KEYS = new Set(['id', 'err', 'response', 'isDisposed', 'status']);

/** Whether `value` is a packet Nest's ServerTCP (request/event) or ClientTCP (response) can handle. */
export function isNestPacket(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return false;
  }
  const packet = value as Record<string, unknown>;
  const keys = Object.keys(packet);
  if (packet.id !== undefined && typeof packet.id !== 'string') {
    return false;
  }
  if ('pattern' in packet) {
    const { pattern } = packet;
    const validPattern = typeof pattern === 'string' || (pattern !== null && typeof pattern === 'object');
    return validPattern && keys.every((key) => REQUEST_KEYS.has(key));
  }
  return typeof packet.id === 'string' && keys.every((key) => RESPONSE_KEYS.has(key));
}

/**
 * Nest TCP `socketClass` that frames packets as a 4-byte big-endian body length
 * followed by a msgpack body (see msgpack-codec.ts), instead of JsonSocket's
 * `length#json`: binary stays binary, Dates stay Dates, and no packet is
 * re-encoded as JSON. Packets travel positional (packet-layout.ts).
 *
 * Unlike JsonSocket it never pauses reading while its writes are backed up:
 * two peers that both wait for the other to drain before reading again
 * deadlock. Bounding what is queued is left to the caller (in-flight limits).
 *
 * A bad length, an undecodable body or a value that is not a Nest packet logs
 * one line and destroys the connection; nothing is thrown into the process.
 *
 * With the `handshake` option the connection first runs the cluster-secret
 * handshake (peer-handshake.ts) in frames of its own shape, consumed here, so
 * Nest never sees them and sees nothing before they succeed: the server sends
 * its challenge on accept, and until the peer is authenticated, incoming
 * frames are capped at a kilobyte and anything but the expected
 * handshake frame drops the connection. The client queues what Nest sends
 * meanwhile and writes it once the server has proven the secret too. Lines
 * about connections dropped before authentication, which anyone can cause,
 * are rate-limited; `PEER_AUTHENTICATED` is emitted on the net socket once
 * the handshake succeeds.
 */
export class MsgpackSocket extends TcpSocket {
  private static readonly logger = new Logger('MsgpackSocket');
  private static readonly handshakeLog = new RateLimitedLog(MsgpackSocket.logger);

  private readonly maxFrameBytes: number;
  private readonly expects: MsgpackSocketOptions['expects'];
  private readonly events: MsgpackSocketOptions['events'];
  /** Received bytes not consumed yet; a frame is copied out of them at most once. */
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Body length of the frame being received, once its header is in. */
  private bodyBytes: number | null = null;
  private failed = false;
  /** Null when the connection needs no authentication. */
  private readonly handshake: PeerHandshake | PeerHello | null = null;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** Frames Nest sent before the handshake completed, in order. */
  private waiting: { frame: Buffer; callback?: (err?: unknown) => void }[] = [];
  private waitingBytes = 0;
  private readonly onAuthenticated: MsgpackSocketOptions['onAuthenticated'];
  private readonly handshakeLog: RateLimitedLog;
  private readonly onVersionRefused: MsgpackSocketOptions['onVersionRefused'];

  constructor(socket: Socket, options: MsgpackSocketOptions = {}) {
    super(socket);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.expects = options.expects;
    this.events = options.events;
    this.onAuthenticated = options.onAuthenticated;
    this.handshakeLog = options.handshakeLog ?? MsgpackSocket.handshakeLog;
    this.onVersionRefused = options.onVersionRefused;
    // Set here as this class wraps both accepted and outgoing sockets (Node
    // applies them on connect): small Raft messages must not wait on Nagle, and
    // a peer that vanished without a FIN must still be noticed.
    socket.setNoDelay(true);
    socket.setKeepAlive(true, options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS);
    // A peer that hangs up in the middle of a frame sent something broken.
    socket.on('end', () => {
      if (!this.failed && (this.bufferedBytes > 0 || this.bodyBytes !== null)) {
        MsgpackSocket.logger.warn(`Connection with ${this.peer()} ended in the middle of a frame`);
      }
    });
    if (options.handshake) {
      const { role, secret, self, peer, timeoutMs } = options.handshake;
      this.handshake = secret
        ? new PeerHandshake({ role, secret, self, peer })
        : new PeerHello(role, role === 'client' ? peer! : (socket.remoteAddress ?? 'unknown'));
      this.handshakeTimer = setTimeout(
        () => this.handleDataError(new FrameError(`not authenticated within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('close', () => clearTimeout(this.handshakeTimer));
      // An accepted connection may already be reset by the time it is wrapped.
      if (role === 'server' && !socket.destroyed) {
        socket.write(packFrame(this.handshake.challenge()));
      }
    } else {
      this.onAuthenticated?.(this);
    }
  }

  /** The member id the peer proved in the handshake; null without one, or before it succeeded. */
  get authenticatedPeer(): string | null {
    return this.handshake?.peer ?? null;
  }

  /** Whether the handshake is still under way: only its frames may pass. */
  private get authenticating(): boolean {
    return this.handshake !== null && !this.handshake.authenticated;
  }

  protected handleSend(message: unknown, callback?: (err?: unknown) => void): void {
    const positional = isNestPacket(message) ? packetToWire(message) : null;
    if (positional === null) throw new FrameError('only Nest packets are sent');
    const frame = packFrame(positional);
    if (frame.length - FRAME_HEADER_BYTES > this.maxFrameBytes) {
      // The receiver would drop the whole connection, failing every other request on it.
      throw new FrameError(`frame of ${frame.length} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
    }
    if (this.socket.destroyed) {
      // E.g. a reply to a request whose connection was just dropped for misbehaving.
      callback?.(new Error('connection closed'));
      return;
    }
    if (this.authenticating) {
      if (this.waitingBytes + frame.length > this.maxFrameBytes) {
        throw new FrameError(`${this.waitingBytes} bytes already wait for the handshake`);
      }
      this.waiting.push({ frame, callback });
      this.waitingBytes += frame.length;
      return;
    }
    this.socket.write(frame, callback);
  }

  protected handleData(data: Buffer | string): void {
    if (this.failed) {
      return;
    }
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    // A frame handled here may drop the connection (see NestTcpTransport): nothing after it is handled.
    while (!this.failed && !this.socket.destroyed) {
      if (this.bodyBytes === null) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) {
          return;
        }
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length === 0) {
          throw new FrameError('empty frame');
        }
        const limit = this.authenticating ? HANDSHAKE_MAX_FRAME_BYTES : this.maxFrameBytes;
        if (length > limit) {
          throw new FrameError(`frame length ${length} exceeds the ${limit}-byte limit`);
        }
        this.bodyBytes = length;
      }
      if (this.bufferedBytes < this.bodyBytes) {
        return;
      }
      const body = this.take(this.bodyBytes);
      this.bodyBytes = null;
      const value = this.decode(body);
      if (this.handshake !== null && !this.handshake.authenticated) {
        this.authenticate(this.handshake, value);
      } else {
        const packet = this.expected(value);
        const { events } = this;
        if (events !== undefined && packet.id === undefined && packet.pattern === events.pattern) {
          events.handle(this, packet.data);
        } else {
          this.socket.emit('message', packet);
        }
      }
    }
  }

  private expected(body: unknown): Record<string, unknown> {
    const value = packetFromWire(body);
    if (!isNestPacket(value)) {
      throw new FrameError('frame body is not a Nest packet');
    }
    const { expects } = this;
    const { pattern } = value;
    const unexpected =
      expects === 'responses' ? 'pattern' in value : expects?.includes(pattern as string) === false;
    if (unexpected) {
      const what =
        typeof pattern === 'string'
          ? `pattern ${JSON.stringify(pattern.slice(0, 100))}`
          : 'pattern' in value
            ? 'an object pattern'
            : 'a response';
      throw new FrameError(`unexpected packet: ${what}`);
    }
    return value;
  }

  /** Reached through TcpSocket#onData when handleData throws, and on a handshake timeout. */
  protected override handleDataError(error: unknown): void {
    if (this.failed) {
      return;
    }
    const unauthenticated = this.authenticating;
    this.failed = true;
    this.chunks = [];
    this.bufferedBytes = 0;
    const reason = error instanceof Error ? error.message : String(error);
    for (const { callback } of this.waiting) {
      callback?.(new Error(`connection dropped during the handshake: ${reason}`));
    }
    this.waiting = [];
    // A reported refusal was logged by whoever it was reported to.
    if (!(error instanceof FrameError && error.reported)) {
      const line = `Dropping connection with ${this.peer()}: ${reason}`;
      // Before authentication anyone can cause these lines, as often as they like.
      if (unauthenticated) this.handshakeLog.warn(line);
      else MsgpackSocket.logger.warn(line);
    }
    this.socket.destroy();
  }

  /** One step of the handshake; once it succeeds, Nest's frames flow (see the class comment). */
  private authenticate(handshake: PeerHandshake | PeerHello, value: unknown): void {
    // This release's packets are positional; one before protocol versions sent objects.
    if ((isNestPacket(value) || isNestPacket(packetFromWire(value))) && handshake instanceof PeerHandshake) {
      throw new FrameError('packet before the cluster-secret handshake completed');
    }
    let reply;
    try {
      // Without a secret, a release before protocol versions sends its packets at once.
      if (isNestPacket(value)) throw new ProtocolVersionError((handshake as PeerHello).other, null);
      reply = handshake.receive(value);
    } catch (error) {
      const reported = error instanceof ProtocolVersionError && this.onVersionRefused !== undefined;
      if (reported) this.onVersionRefused!(error);
      throw new FrameError(`handshake failed: ${(error as Error).message}`, reported);
    }
    if (reply !== null) {
      this.socket.write(packFrame(reply));
    }
    if (handshake.authenticated) {
      clearTimeout(this.handshakeTimer);
      for (const { frame, callback } of this.waiting) {
        this.socket.write(frame, callback);
      }
      this.waiting = [];
      this.waitingBytes = 0;
      this.socket.emit(PEER_AUTHENTICATED, handshake.peer);
      this.onAuthenticated?.(this);
    }
  }

  private decode(body: Buffer): unknown {
    try {
      return unpackBody(body);
    } catch (error) {
      throw new FrameError(`undecodable frame body (${(error as Error).message})`);
    }
  }

  private peer(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** Removes the first `n` buffered bytes; a view when they sit in one chunk, else one copy. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) {
        this.chunks.shift();
      } else {
        this.chunks[0] = first.subarray(n);
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let copied = 0;
      let used = 0;
      while (copied < n) {
        const chunk = this.chunks[used]!;
        const part = Math.min(chunk.length, n - copied);
        chunk.copy(out, copied, 0, part);
        copied += part;
        if (part === chunk.length) {
          used++;
        } else {
          this.chunks[used] = chunk.subarray(part);
        }
      }
      this.chunks.splice(0, used);
    }
    this.bufferedBytes -= n;
    return out;
  }
}

/** A `socketClass` for ServerTCP/ClientTCP options, which construct it with the socket only. */
export function msgpackSocketClass(options: MsgpackSocketOptions = {}): Type<TcpSocket> {
  return class ConfiguredMsgpackSocket extends MsgpackSocket {
    constructor(socket: Socket) {
      super(socket, options);
    }
  };
}
