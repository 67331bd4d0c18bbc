import { Logger, type Type } from '@nestjs/common';
import { ServerTCP, type TcpSocket } from '@nestjs/microservices';
import type { Server } from 'node:net';
import { catchError, from, throwError, type Observable } from 'rxjs';
import { msgpackSocketClass } from './msgpack-socket.ts';
import { parsePeerAddress } from './peer-address.ts';
import { PeerLink } from './peer-link.ts';
import { PeerTransportError } from './peer-transport-error.ts';
import type { PeerTransport } from './peer-transport.ts';

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
}

/** What travels in `data` of both patterns: the sender's id and the caller's value. */
interface Envelope {
  from: string;
  body: unknown;
}

function isEnvelope(data: unknown): data is Envelope {
  return typeof data === 'object' && data !== null && typeof (data as Envelope).from === 'string';
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
 */
export class NestTcpTransport implements PeerTransport {
  private readonly logger = new Logger(NestTcpTransport.name);
  private readonly id: string;
  private readonly options: NestTcpTransportOptions;
  private readonly socketClass: Type<TcpSocket>;
  private readonly links = new Map<string, PeerLink>();
  private server: ServerTCP | null = null;
  private stopped = false;
  private messageHandler: ((from: string, message: unknown) => void) | null = null;
  private requestHandler: ((from: string, payload: unknown) => Promise<unknown>) | null = null;

  constructor(options: NestTcpTransportOptions) {
    parsePeerAddress(options.id);
    this.id = options.id;
    this.options = options;
    this.socketClass = msgpackSocketClass({
      maxFrameBytes: options.maxFrameBytes,
      keepAliveMs: options.keepAliveMs,
    });
  }

  async start(): Promise<void> {
    if (this.server !== null || this.stopped) {
      throw new Error(`transport ${this.id} already started or stopped`);
    }
    const own = parsePeerAddress(this.id);
    const server = new ServerTCP({
      host: this.options.host ?? own.host,
      port: own.port,
      socketClass: this.socketClass,
    });
    server.addHandler(RAFT_PATTERN, async (data: unknown) => this.deliver(data), true);
    // A handler that throws leaves the client without a reply (ServerTCP only
    // logs it), so failures are turned into an erroring stream, which ServerTCP
    // sends back as the reply's `err`.
    server.addHandler(REQUEST_PATTERN, async (data: unknown): Promise<Observable<unknown>> =>
      from(this.answer(data)).pipe(catchError((error: unknown) => throwError(() => errorMessage(error)))),
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
        socketClass: this.socketClass,
        connectTimeoutMs: options.connectTimeoutMs ?? 1_000,
        minBackoffMs: options.minBackoffMs ?? 50,
        maxBackoffMs: options.maxBackoffMs ?? 2_000,
        maxInFlight: options.maxInFlightPerPeer ?? 1_024,
        maxQueuedBytes: options.maxQueuedBytesPerPeer ?? 32 * 1024 * 1024,
      });
      this.links.set(to, link);
    }
    return link;
  }

  private deliver(data: unknown): void {
    if (!isEnvelope(data)) {
      this.logger.warn('Ignoring a Raft message without sender');
      return;
    }
    try {
      this.messageHandler?.(data.from, data.body);
    } catch (error) {
      this.logger.error(`Message handler failed on a message from ${data.from}`, error);
    }
  }

  private async answer(data: unknown): Promise<unknown> {
    if (!isEnvelope(data)) {
      throw new Error('malformed request: no sender');
    }
    if (this.requestHandler === null) {
      throw new Error(`${this.id} has no request handler`);
    }
    return this.requestHandler(data.from, data.body);
  }
}
