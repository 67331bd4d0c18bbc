import { Logger, type Type } from '@nestjs/common';
import type { ServerTCP, TcpContext, TcpSocket } from '@nestjs/microservices';
import type { Server, Socket } from 'node:net';
import {
  checkServerIdentity,
  type ConnectionOptions,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import { catchError, from, throwError, type Observable } from 'rxjs';
import { MsgpackSocket, msgpackSocketClass, type MsgpackSocketOptions } from './msgpack-socket.ts';
import { isPeerId, parsePeerAddress } from './peer-address.ts';
import type { ProtocolVersionError } from './peer-handshake.ts';
import { PeerLink } from './peer-link.ts';
import { PeerServer } from './peer-server.ts';
import { messagesFromWire, messagesToWire } from './raft-wire.ts';
import { PeerTransportError } from './peer-transport-error.ts';
import type { PeerTransport } from './peer-transport.ts';
import { clientTlsOptions, serverTlsOptions, type PeerTlsOptions } from './peer-tls.ts';
import { RateLimitedLog } from './rate-limited-log.ts';

/** Pattern of one-way Raft messages (`client.emit`; handled by the socket, see MsgpackSocket's `events`). */
export const RAFT_PATTERN = 'imdgo.raft';
/** Nest pattern of request/response calls (`client.send`, message handler). */
export const REQUEST_PATTERN = 'imdgo.request';
/** Nest pattern of the liveness pings a link sends when it has heard nothing for a while (see PeerLink). */
export const PING_PATTERN = 'imdgo.ping';

export interface NestTcpTransportOptions {
  /** This member's id, `host:port`; the server listens on that port. */
  id: string;
  /** Address to bind; defaults to the host of `id`. */
  host?: string;
  /** Largest frame accepted or sent, in bytes (default 64 MiB). */
  maxFrameBytes?: number;
  /** Idle time before TCP keepalive probes, in ms (default 5 s). */
  keepAliveMs?: number;
  /** Default 1 s. */
  connectTimeoutMs?: number;
  /** Reconnect backoff, doubling from min to max (default 50 ms to 2 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Requests in flight per peer before new ones fail fast (default 1024). */
  maxInFlightPerPeer?: number;
  /** Bytes queued on a peer's socket beyond which `send` drops (default 32 MiB). */
  maxQueuedBytesPerPeer?: number;
  /** Mutual TLS with every peer (see peer-tls.ts). */
  tls?: PeerTlsOptions;
  /** Every connection must prove this shared secret before anything else crosses (see peer-handshake.ts). */
  clusterSecret?: string;
  /** How long a new connection may take for its TLS and secret handshakes together (default 5 s). */
  handshakeTimeoutMs?: number;
  /** Accepted connections still in their handshakes beyond which new ones are closed at once (default 64). */
  maxUnauthenticatedConnections?: number;
  /** A link that hears nothing and drains nothing this long is dropped as dead (default 10 s; see PeerLink). */
  livenessTimeoutMs?: number;
}

/** What travels in `data` of both patterns: `[from, body]`, the sender's id and the caller's value. */
type Envelope = [from: string, body: unknown];

function isEnvelope(data: unknown): data is Envelope {
  return Array.isArray(data) && data.length === 2 && isPeerId(data[0]);
}

/** The `err` of a Nest reply must be truthy, and only the message should cross. */
function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  return message || 'request failed';
}

/**
 * PeerTransport over Nest's TCP transport with msgpack frames: one ServerTCP (peer-server.ts)
 * listening on the own address and one ClientTCP per peer, connected lazily
 * (see PeerLink for timeouts, backoff and limits).
 *
 * The ServerTCP is driven directly (constructor, `addHandler`, `listen`,
 * `close`) because the library lives inside an HTTP app and cannot count on
 * `connectMicroservice`; ServerTCP needs nothing else from a Nest context.
 *
 * Every connection starts with a handshake that carries the peer protocol version
 * (peer-handshake.ts with a cluster secret, peer-hello.ts without): a member of
 * another release is refused, logged once per peer.
 *
 * An accepted connection speaks for one member: the member its cluster-secret
 * handshake proved, else the first envelope's `from`; with `tls` (unless
 * `verifyHostname` is false) that member's host must be in the client
 * certificate. A malformed envelope, another `from` or a message its handler
 * throws on closes the connection with a log line, and nothing after it on that
 * connection is handled. A newer connection of the same member closes the older.
 *
 * Until its handshakes are done, an accepted connection counts against
 * `maxUnauthenticatedConnections` and has `handshakeTimeoutMs` in all; the log
 * lines such connections cause are rate-limited.
 */
export class NestTcpTransport implements PeerTransport {
  private readonly logger = new Logger(NestTcpTransport.name);
  private readonly id: string;
  private readonly options: NestTcpTransportOptions;
  /** Wraps accepted connections, which open the handshake: a challenge with a cluster secret, else a hello. */
  private readonly serverSocketClass: Type<TcpSocket>;
  /** Wraps the connection to a peer, which answers the challenge for that peer's id. */
  private readonly clientSocketClass: (peer: string) => Type<TcpSocket>;
  private readonly clientTls: ConnectionOptions | undefined;
  private readonly handshakeLog = new RateLimitedLog(this.logger);
  /** `peer version` pairs already logged as refused: a link retries every few seconds, the log says it once. */
  private readonly versionsRefused = new Set<string>();
  /** The member each accepted connection speaks for. */
  private readonly speakers = new WeakMap<TcpSocket, string>();
  /** The current accepted connection of each member. */
  private readonly connectionOf = new Map<string, TcpSocket>();
  /** Accepted connections not through their handshakes yet, by remote `address:port`, with their deadline. */
  private readonly unauthenticated = new Map<string, NodeJS.Timeout>();
  private readonly links = new Map<string, PeerLink>();
  private server: ServerTCP | null = null;
  private stopped = false;
  private messageHandler: ((from: string, message: unknown) => void) | null = null;
  private peerDownHandler: ((peer: string) => void) | null = null;
  private requestHandler: ((from: string, payload: unknown) => Promise<unknown>) | null = null;

  constructor(options: NestTcpTransportOptions) {
    parsePeerAddress(options.id);
    this.id = options.id;
    this.options = options;
    const framing = { maxFrameBytes: options.maxFrameBytes, keepAliveMs: options.keepAliveMs };
    const secret = options.clusterSecret;
    const timeoutMs = this.handshakeTimeoutMs();
    const { handshakeLog } = this;
    const onVersionRefused = (error: ProtocolVersionError): void => this.versionRefused(error);
    const handshake = (role: 'server' | 'client', peer?: string): MsgpackSocketOptions['handshake'] => ({
      role,
      secret,
      self: this.id,
      peer,
      timeoutMs,
    });
    this.serverSocketClass = msgpackSocketClass({
      ...framing,
      handshake: handshake('server'),
      expects: [RAFT_PATTERN, REQUEST_PATTERN, PING_PATTERN],
      handshakeLog,
      onVersionRefused,
      events: { pattern: RAFT_PATTERN, handle: (socket, data) => this.deliver(data, socket) },
      onAuthenticated: ({ netSocket }) =>
        this.authenticated(`${netSocket.remoteAddress}:${netSocket.remotePort}`),
    });
    this.clientSocketClass = (peer) =>
      msgpackSocketClass({
        ...framing,
        handshake: handshake('client', peer),
        expects: 'responses',
        handshakeLog,
        onVersionRefused,
      });
    this.clientTls = options.tls && clientTlsOptions(options.tls);
  }

  async start(): Promise<void> {
    if (this.server !== null || this.stopped) {
      throw new Error(`transport ${this.id} already started or stopped`);
    }
    const own = parsePeerAddress(this.id);
    const { tls } = this.options;
    const server = new PeerServer({
      host: this.options.host ?? own.host,
      port: own.port,
      socketClass: this.serverSocketClass,
      tlsOptions: tls && serverTlsOptions(tls, this.handshakeTimeoutMs()),
    });
    server.unwrap<Server>().on('connection', (socket: Socket) => this.admit(socket));
    // A connection refused during the TLS handshake (no, or a wrong, client
    // certificate; not TLS at all) never reaches Nest, so it is logged here.
    if (tls) {
      server.unwrap<TlsServer>().on('tlsClientError', (error, socket) => {
        // A client certificate that fails verification is refused by destroying the socket, which then
        // reports only "socket hang up" and has lost its address; the verdict (a code, despite its
        // declared type) stays on the socket.
        const address = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a peer';
        const verdict = socket.authorizationError as unknown as string | undefined;
        const reason = verdict ? `client certificate refused (${verdict})` : error.message;
        this.handshakeLog.warn(`Refusing TLS connection from ${address}: ${reason}`);
      });
    }
    server.addHandler(PING_PATTERN, async () => true);
    // A handler that throws leaves the client without a reply (ServerTCP only
    // logs it), so failures are turned into an erroring stream, which ServerTCP
    // sends back as the reply's `err`.
    server.addHandler(
      REQUEST_PATTERN,
      async (data: unknown, context: TcpContext): Promise<Observable<unknown>> =>
        from(this.answer(data, context.getSocketRef())).pipe(
          catchError((error: unknown) => throwError(() => errorMessage(error))),
        ),
    );
    await new Promise<void>((resolve, reject) => {
      // ServerTCP#listen only calls back on EADDRINUSE/ECONNREFUSED, not on other errors.
      const netServer = server.unwrap<Server>();
      netServer.once('error', reject);
      server.listen((error) => {
        netServer.off('error', reject);
        if (error) {
          reject(error);
        } else {
          resolve();
        }
      });
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const deadline of this.unauthenticated.values()) clearTimeout(deadline);
    this.unauthenticated.clear();
    const links = [...this.links.values()];
    this.links.clear();
    const closing = links.map((link) => link.close());
    const server = this.server;
    this.server = null;
    if (server !== null) {
      const netServer = server.unwrap<Server>();
      closing.push(new Promise((resolve) => netServer.once('close', resolve)));
      // Also destroys the accepted connections, which net.Server#close leaves open.
      server.close();
    }
    await Promise.all(closing);
  }

  send(to: string, message: unknown): void {
    try {
      this.link(to)?.emit(RAFT_PATTERN, [this.id, messagesToWire(message)]);
    } catch (error) {
      this.logger.warn(`Dropping message to ${to}: ${errorMessage(error)}`);
    }
  }

  request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T> {
    let link: PeerLink | null;
    try {
      link = this.link(to);
    } catch (error) {
      return Promise.reject(new PeerTransportError('send-failed', to, errorMessage(error)));
    }
    if (link === null) {
      return Promise.reject(new PeerTransportError('stopped', to, 'transport stopped'));
    }
    return link.request<T>(REQUEST_PATTERN, [this.id, payload], timeoutMs);
  }

  /** Closes the links to every peer not in `members` (members that left the cluster). */
  retain(members: readonly string[]): void {
    const kept = new Set(members);
    for (const [peer, link] of this.links) {
      if (kept.has(peer)) continue;
      this.links.delete(peer);
      void link.close();
    }
  }

  onMessage(handler: (from: string, message: unknown) => void): void {
    this.messageHandler = handler;
  }

  onPeerDown(handler: (peer: string) => void): void {
    this.peerDownHandler = handler;
  }

  onRequest(handler: (from: string, payload: unknown) => Promise<unknown>): void {
    this.requestHandler = handler;
  }

  private link(to: string): PeerLink | null {
    if (this.stopped) {
      return null;
    }
    let link = this.links.get(to);
    if (link === undefined) {
      const { options } = this;
      link = new PeerLink(to, {
        socketClass: this.clientSocketClass(to),
        tlsOptions: this.clientTls,
        connectTimeoutMs: options.connectTimeoutMs ?? 1_000,
        minBackoffMs: options.minBackoffMs ?? 50,
        maxBackoffMs: options.maxBackoffMs ?? 2_000,
        maxInFlight: options.maxInFlightPerPeer ?? 1_024,
        maxQueuedBytes: options.maxQueuedBytesPerPeer ?? 32 * 1024 * 1024,
        livenessTimeoutMs: options.livenessTimeoutMs ?? 10_000,
        pingPattern: PING_PATTERN,
        onDown: () => this.peerDownHandler?.(to),
      });
      this.links.set(to, link);
    }
    return link;
  }

  private deliver(data: unknown, socket: TcpSocket): void {
    const sender = this.speaker(data, socket);
    if (sender === null) {
      return;
    }
    try {
      this.messageHandler?.(sender, messagesFromWire((data as Envelope)[1]));
    } catch (error) {
      this.drop(socket, `message handler failed on a message from ${sender}: ${errorMessage(error)}`);
    }
  }

  private async answer(data: unknown, socket: TcpSocket): Promise<unknown> {
    const sender = this.speaker(data, socket);
    if (sender === null) {
      throw new Error('malformed request');
    }
    if (this.requestHandler === null) {
      throw new Error(`${this.id} has no request handler`);
    }
    return this.requestHandler(sender, (data as Envelope)[1]);
  }

  /** The sender of a well-formed envelope from the member this connection speaks for; else drops it. */
  private speaker(data: unknown, socket: TcpSocket): string | null {
    // Frames of one chunk all reach Nest before the first is handled: those after a drop are ignored.
    if (socket.netSocket.destroyed) {
      return null;
    }
    if (!isEnvelope(data)) {
      this.drop(socket, 'malformed envelope (expected ["host:port", body])');
      return null;
    }
    const [sender] = data;
    const bound = this.speakers.get(socket) ?? this.bind(socket, sender);
    if (bound === null) {
      return null;
    }
    if (bound !== sender) {
      this.drop(socket, `envelope from ${sender} on the connection of ${bound}`);
      return null;
    }
    return sender;
  }

  /**
   * Binds a connection to the member it speaks for (the one its handshake proved, else `claimed`), once
   * the client certificate names that member; closes that member's previous connection. Null if dropped.
   */
  private bind(socket: TcpSocket, claimed: string): string | null {
    const member = socket instanceof MsgpackSocket ? (socket.authenticatedPeer ?? claimed) : claimed;
    const { tls } = this.options;
    if (tls && tls.verifyHostname !== false) {
      const { host } = parsePeerAddress(member);
      const certificate = (socket.netSocket as TLSSocket).getPeerCertificate();
      const mismatch = checkServerIdentity(host, certificate);
      if (mismatch) {
        this.drop(socket, `the client certificate does not name ${member}: ${mismatch.message}`);
        return null;
      }
    }
    this.speakers.set(socket, member);
    const previous = this.connectionOf.get(member);
    this.connectionOf.set(member, socket);
    socket.netSocket.once('close', () => {
      if (this.connectionOf.get(member) === socket) this.connectionOf.delete(member);
    });
    // Reordering across the two the core tolerates, but the older one only holds resources.
    previous?.netSocket.destroy();
    return member;
  }

  /** Counts a new connection as unauthenticated, or closes it at once beyond the cap. */
  private admit(socket: Socket): void {
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    const cap = this.options.maxUnauthenticatedConnections ?? 64;
    if (this.unauthenticated.size >= cap) {
      this.handshakeLog.warn(
        `Refusing connection from ${address}: ${cap} connections are in their handshakes`,
      );
      socket.destroy();
      return;
    }
    const timeoutMs = this.handshakeTimeoutMs();
    const deadline = setTimeout(() => {
      this.unauthenticated.delete(address);
      this.handshakeLog.warn(`Dropping connection with ${address}: not authenticated within ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    this.unauthenticated.set(address, deadline);
    socket.once('close', () => this.authenticated(address));
  }

  /** The handshakes of the connection from `address` are done (or it closed): it no longer counts. */
  private authenticated(address: string): void {
    clearTimeout(this.unauthenticated.get(address));
    this.unauthenticated.delete(address);
  }

  /** The peer names a member (the one dialled, or one that proved the secret): the set stays small. */
  private versionRefused(error: ProtocolVersionError): void {
    const key = `${error.peer} ${error.theirs}`;
    if (this.versionsRefused.has(key)) return;
    this.versionsRefused.add(key);
    this.logger.error(`Refusing connections: ${error.message}`);
  }

  private drop(socket: TcpSocket, reason: string): void {
    const { remoteAddress, remotePort } = socket.netSocket;
    this.logger.warn(`Dropping connection with ${remoteAddress}:${remotePort}: ${reason}`);
    socket.netSocket.destroy();
  }

  private handshakeTimeoutMs(): number {
    return this.options.handshakeTimeoutMs ?? 5_000;
  }
}
