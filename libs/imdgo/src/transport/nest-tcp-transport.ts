import { Logger, type Type } from '@nestjs/common';
import { ServerTCP, type TcpContext, type TcpSocket } from '@nestjs/microservices';
import type { Server } from 'node:net';
import type { ConnectionOptions, Server as TlsServer } from 'node:tls';
import { catchError, from, throwError, type Observable } from 'rxjs';
import { msgpackSocketClass, type MsgpackSocketOptions } from './msgpack-socket.ts';
import { parsePeerAddress } from './peer-address.ts';
import { PeerLink } from './peer-link.ts';
import { PeerTransportError } from './peer-transport-error.ts';
import type { PeerTransport } from './peer-transport.ts';
import { clientTlsOptions, serverTlsOptions, type PeerTlsOptions } from './peer-tls.ts';

/** Nest pattern of one-way Raft messages (`client.emit`, event handler). */
export const RAFT_PATTERN = 'imdgo.raft';
/** Nest pattern of request/response calls (`client.send`, message handler). */
export const REQUEST_PATTERN = 'imdgo.request';

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
  /** How long a new connection may take for its TLS and secret handshakes (default 5 s). */
  handshakeTimeoutMs?: number;
}

/** What travels in `data` of both patterns: the sender's id and the caller's value. */
interface Envelope {
  from: string;
  body: unknown;
}

function isEnvelope(data: unknown): data is Envelope {
  if (data === null || typeof data !== 'object' || Object.getPrototypeOf(data) !== Object.prototype) {
    return false;
  }
  const { from: sender } = data as Envelope;
  try {
    parsePeerAddress(sender);
  } catch {
    return false;
  }
  return Object.keys(data).every((key) => key === 'from' || key === 'body');
}

/** The `err` of a Nest reply must be truthy, and only the message should cross. */
function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  return message || 'request failed';
}

/**
 * PeerTransport over Nest's TCP transport with msgpack frames: one ServerTCP
 * listening on the own address and one ClientTCP per peer, connected lazily
 * (see PeerLink for timeouts, backoff and limits).
 *
 * The ServerTCP is driven directly (constructor, `addHandler`, `listen`,
 * `close`) because the library lives inside an HTTP app and cannot count on
 * `connectMicroservice`; ServerTCP needs nothing else from a Nest context.
 *
 * An accepted connection speaks for one member: the first envelope's `from`
 * binds it, and a malformed envelope, another `from` or a message its handler
 * throws on closes the connection with a log line.
 */
export class NestTcpTransport implements PeerTransport {
  private readonly logger = new Logger(NestTcpTransport.name);
  private readonly id: string;
  private readonly options: NestTcpTransportOptions;
  /** Wraps accepted connections, which challenge their client when there is a cluster secret. */
  private readonly serverSocketClass: Type<TcpSocket>;
  private readonly clientSocketClass: Type<TcpSocket>;
  private readonly clientTls: ConnectionOptions | undefined;
  /** The member each accepted connection speaks for. */
  private readonly speakers = new WeakMap<TcpSocket, string>();
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
    const socketClass = (role: 'server' | 'client'): Type<TcpSocket> => {
      const handshake: MsgpackSocketOptions['handshake'] = secret ? { role, secret, timeoutMs } : undefined;
      const expects = role === 'server' ? [RAFT_PATTERN, REQUEST_PATTERN] : 'responses';
      return msgpackSocketClass({ ...framing, handshake, expects });
    };
    this.serverSocketClass = socketClass('server');
    this.clientSocketClass = socketClass('client');
    this.clientTls = options.tls && clientTlsOptions(options.tls);
  }

  async start(): Promise<void> {
    if (this.server !== null || this.stopped) {
      throw new Error(`transport ${this.id} already started or stopped`);
    }
    const own = parsePeerAddress(this.id);
    const { tls } = this.options;
    const server = new ServerTCP({
      host: this.options.host ?? own.host,
      port: own.port,
      socketClass: this.serverSocketClass,
      tlsOptions: tls && serverTlsOptions(tls, this.handshakeTimeoutMs()),
    });
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
        this.logger.warn(`Refusing TLS connection from ${address}: ${reason}`);
      });
    }
    server.addHandler(
      RAFT_PATTERN,
      async (data: unknown, context: TcpContext) => this.deliver(data, context.getSocketRef()),
      true,
    );
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
      this.link(to)?.emit(RAFT_PATTERN, { from: this.id, body: message });
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
    return link.request<T>(REQUEST_PATTERN, { from: this.id, body: payload }, timeoutMs);
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
        socketClass: this.clientSocketClass,
        tlsOptions: this.clientTls,
        connectTimeoutMs: options.connectTimeoutMs ?? 1_000,
        minBackoffMs: options.minBackoffMs ?? 50,
        maxBackoffMs: options.maxBackoffMs ?? 2_000,
        maxInFlight: options.maxInFlightPerPeer ?? 1_024,
        maxQueuedBytes: options.maxQueuedBytesPerPeer ?? 32 * 1024 * 1024,
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
      this.messageHandler?.(sender, (data as Envelope).body);
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
    return this.requestHandler(sender, (data as Envelope).body);
  }

  /** The sender of a well-formed envelope from the member this connection speaks for; else drops it. */
  private speaker(data: unknown, socket: TcpSocket): string | null {
    if (!isEnvelope(data)) {
      this.drop(socket, 'malformed envelope (expected { from: "host:port", body })');
      return null;
    }
    const bound = this.speakers.get(socket);
    if (bound === undefined) {
      this.speakers.set(socket, data.from);
    } else if (bound !== data.from) {
      this.drop(socket, `envelope from ${data.from} on the connection of ${bound}`);
      return null;
    }
    return data.from;
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
