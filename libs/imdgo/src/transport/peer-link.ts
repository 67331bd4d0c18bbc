import { Logger, type Type } from '@nestjs/common';
import { ClientTCP, type TcpSocket } from '@nestjs/microservices';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Subscription } from 'rxjs';
import { PEER_AUTHENTICATED } from './msgpack-socket.ts';
import { parsePeerAddress } from './peer-address.ts';
import { PeerTransportError } from './peer-transport-error.ts';

export interface PeerLinkOptions {
  socketClass: Type<TcpSocket>;
  /** Connect with TLS (see peer-tls.ts). */
  tlsOptions?: ConnectionOptions;
  /** Gives up on a connection attempt after this long. */
  connectTimeoutMs: number;
  /** First delay before reconnecting after a failure; doubles per failure up to `maxBackoffMs`. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Requests in flight, and messages waiting for the connection, beyond which new ones fail fast. */
  maxInFlight: number;
  /** Bytes queued on the socket beyond which `emit` drops and requests fail fast. */
  maxQueuedBytes: number;
  /**
   * A connection on which nothing arrives and nothing drains for this long is taken for dead (a host
   * that vanished without closing, a paused process) and dropped. While nothing arrives, a ping request
   * on `pingPattern` asks the peer for a sign of life every quarter of this.
   */
  livenessTimeoutMs: number;
  pingPattern: string;
  /** Called when an established connection to the peer closes (the peer crashed or reset it). */
  onDown?: () => void;
}

type LinkState = 'idle' | 'connecting' | 'up' | 'backoff';

/**
 * ClientTCP that can also write an event straight onto its connection, and that leaves a connection's
 * errors to the link (`report`): Nest logs every reset, timed-out or refused TLS connection as an error
 * with its stack, once per reconnection attempt while a peer is away.
 */
class PeerClient extends ClientTCP {
  override handleError(): void {}

  /**
   * What `emit` does once connected, minus what it costs per call (an rxjs chain and a promise): Raft
   * sends several messages per write. False without a connection.
   */
  sendEvent(pattern: string, data: object): boolean {
    if (this.socket === null) return false;
    this.socket.sendMessage(this.serializer.serialize({ pattern, data }));
    return true;
  }
}

/**
 * The connection to one peer: a Nest ClientTCP plus what ClientTCP lacks, i.e.
 * lazy connect with a connect timeout, capped exponential backoff between
 * attempts (while backing off, emits drop and requests fail fast: ClientTCP
 * would otherwise open a new connection for every call), request timeouts and
 * a bound on requests in flight.
 *
 * There is no reconnect timer: the next emit or request after the backoff
 * delay reconnects, and Raft keeps sending, so no timer outlives `close()`.
 */
export class PeerLink {
  private static readonly logger = new Logger(PeerLink.name);
  readonly peer: string;
  private readonly options: PeerLinkOptions;
  private readonly client: PeerClient;
  private state: LinkState = 'idle';
  /** The socket of the current connection or attempt. */
  private socket: Socket | null = null;
  private connectTimer: NodeJS.Timeout | undefined;
  /** What broke the current connection, if it reported why (a refused certificate, a reset). */
  private socketError: Error | null = null;
  /** Failed attempts since the last connection that authenticated or stayed up (sets the backoff). */
  private failures = 0;
  /** Whether a connection was ever made: a peer refusing before that is most likely still starting. */
  private everConnected = false;
  private retryAt = 0;
  private inFlight = 0;
  private emitsWaitingForConnection = 0;
  private readonly pending = new Set<(error: PeerTransportError) => void>();
  private closed = false;

  constructor(peer: string, options: PeerLinkOptions) {
    this.peer = peer;
    this.options = options;
    const { host, port } = parsePeerAddress(peer);
    this.client = new PeerClient({
      host,
      port,
      socketClass: options.socketClass,
      tlsOptions: options.tlsOptions,
    });
  }

  /**
   * A connection that closed (`lost`) or an attempt that did not connect (`failed`): a warning for the first
   * of a run of them, debug lines for the rest. A peer refusing before this link ever reached it is most
   * likely still starting: debug too.
   */
  private report(what: 'lost' | 'failed'): void {
    const cause = this.socketError ? `: ${this.socketError.message}` : '';
    const line = `connection to ${this.peer} ${what}${cause}`;
    const starting =
      !this.everConnected && (this.socketError as { code?: string } | null)?.code === 'ECONNREFUSED';
    if (this.failures === 0 && !starting) PeerLink.logger.warn(`${line} (retrying with backoff)`);
    else PeerLink.logger.debug(line);
  }

  /** Sends an event; returns false when it was dropped. */
  emit(pattern: string, data: object): boolean {
    if (!this.usable()) {
      return false;
    }
    if (this.state === 'up') {
      if (this.socket!.writableLength > this.options.maxQueuedBytes) {
        return false;
      }
      // An unencodable or oversized message throws here, to the caller.
      return this.client.sendEvent(pattern, data);
    }
    if (this.emitsWaitingForConnection >= this.options.maxInFlight) {
      return false;
    }
    this.emitsWaitingForConnection++;
    // ClientProxy#emit sends once connected. Failures (connection lost meanwhile, unencodable message)
    // end in the returned, already connected observable, which nothing subscribes to.
    this.client.emit(pattern, data);
    return true;
  }

  request<T>(pattern: string, data: object, timeoutMs: number): Promise<T> {
    if (this.closed) {
      return Promise.reject(this.error('stopped', 'transport stopped'));
    }
    if (this.inFlight >= this.options.maxInFlight) {
      return Promise.reject(
        this.error('overloaded', `${this.options.maxInFlight} requests to ${this.peer} already in flight`),
      );
    }
    // A timed-out request frees its slot, but not its bytes: they stay queued behind a peer that stopped
    // reading, so the bytes count too.
    if (this.state === 'up' && this.socket!.writableLength > this.options.maxQueuedBytes) {
      return Promise.reject(
        this.error('overloaded', `${this.socket!.writableLength} bytes already queued for ${this.peer}`),
      );
    }
    if (!this.usable()) {
      const wait = Math.max(0, this.retryAt - performance.now());
      return Promise.reject(
        this.error('unavailable', `${this.peer} is unreachable (next attempt in ${wait} ms)`),
      );
    }
    this.inFlight++;
    return new Promise<T>((resolve, reject) => {
      let subscription: Subscription | undefined;
      let settled = false;
      const settle = (finish: () => void): void => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(timer);
        this.pending.delete(fail);
        this.inFlight--;
        subscription?.unsubscribe();
        finish();
      };
      const fail = (error: PeerTransportError): void => settle(() => reject(error));
      const timer = setTimeout(
        () => fail(this.error('timeout', `request to ${this.peer} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.add(fail);
      subscription = this.client.send<T>(pattern, data).subscribe({
        next: (value) => settle(() => resolve(value)),
        // A handler that returns `undefined` answers with no value at all.
        complete: () => settle(() => resolve(undefined as T)),
        error: (error: unknown) => fail(this.requestError(error)),
      });
    });
  }

  /** Rejects what is pending, drops the connection and waits until its socket is closed. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.connectTimer);
    for (const fail of this.pending) {
      fail(this.error('stopped', 'transport stopped'));
    }
    const socket = this.socket;
    this.client.close();
    if (socket !== null && !socket.closed) {
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.destroy();
      await closed;
    }
  }

  /** Whether calls may go to the client now; starts connecting once the backoff delay is over. */
  private usable(): boolean {
    if (this.closed) {
      return false;
    }
    if (this.state === 'up' || this.state === 'connecting') {
      return true;
    }
    if (performance.now() < this.retryAt) {
      return false;
    }
    this.connect();
    return true;
  }

  private connect(): void {
    this.state = 'connecting';
    // ClientTCP counts a TLS connection as made once TCP is; the link waits for the TLS handshake too, so
    // that the connect timeout covers it and a refused certificate is a failed attempt.
    const connected = this.options.tlsOptions
      ? Promise.all([this.client.connect(), once(this.client.unwrap<Socket>(), 'secureConnect')])
      : this.client.connect();
    const socket = this.client.unwrap<Socket>();
    this.socket = socket;
    this.socketError = null;
    // Recorded at once: the requests it fails learn of it in the same tick, through ClientTCP's 'close'.
    socket.on('error', (error) => {
      if (this.socket === socket) this.socketError = error;
    });
    this.connectTimer = setTimeout(() => {
      // With an error, so that ClientTCP's pending connect() rejects instead of hanging.
      const message = `connect to ${this.peer} timed out after ${this.options.connectTimeoutMs} ms`;
      socket.destroy(Object.assign(new Error(message), { code: 'ETIMEDOUT' }));
    }, this.options.connectTimeoutMs);
    connected.then(
      () => {
        clearTimeout(this.connectTimer);
        this.emitsWaitingForConnection = 0;
        if (this.closed) {
          return;
        }
        this.state = 'up';
        // A TCP (or TLS) connection is no success yet: the server may still refuse the secret or the
        // certificate. Only a connection that authenticated, or stayed up at least as long as the longest
        // backoff, resets the backoff, so that refused attempts keep backing off.
        const upAt = performance.now();
        socket.once(PEER_AUTHENTICATED, () => (this.failures = 0));
        this.watchLiveness(socket);
        this.everConnected = true;
        socket.once('close', () => {
          if (performance.now() - upAt >= this.options.maxBackoffMs) this.failures = 0;
          if (!this.closed) this.report('lost');
          this.backOff();
          if (!this.closed) this.options.onDown?.();
        });
      },
      () => {
        clearTimeout(this.connectTimer);
        this.emitsWaitingForConnection = 0;
        if (!this.closed) this.report('failed');
        this.backOff();
      },
    );
  }

  /** See `livenessTimeoutMs`. Bytes leaving the queue count as a sign of life: the peer's window opened. */
  private watchLiveness(socket: Socket): void {
    const timeoutMs = this.options.livenessTimeoutMs;
    let lastSign = performance.now();
    let queued = socket.writableLength;
    socket.on('data', () => (lastSign = performance.now()));
    const timer = setInterval(() => {
      const now = performance.now();
      if (socket.writableLength < queued) lastSign = now;
      queued = socket.writableLength;
      const silentMs = now - lastSign;
      if (silentMs >= timeoutMs) {
        const message = `no sign of life from ${this.peer} for ${silentMs} ms`;
        socket.destroy(Object.assign(new Error(message), { code: 'ETIMEDOUT' }));
      } else if (silentMs >= timeoutMs / 4) {
        // Any reply is data, which is all the watch needs; a lost connection fails it, unobserved.
        this.client.send(this.options.pingPattern, {}).subscribe({ error: () => {} });
      }
    }, timeoutMs / 4);
    timer.unref();
    socket.once('close', () => clearInterval(timer));
  }

  private backOff(): void {
    if (this.closed) {
      return;
    }
    this.state = 'backoff';
    this.socket = null;
    this.failures++;
    const delay = Math.min(this.options.maxBackoffMs, this.options.minBackoffMs * 2 ** (this.failures - 1));
    this.retryAt = performance.now() + delay;
  }

  /** Nest reports a remote failure as the `err` string of the reply, local ones as Errors. */
  private requestError(error: unknown): PeerTransportError {
    if (typeof error === 'string') {
      return this.error('remote', error);
    }
    const message = error instanceof Error ? error.message : String(error);
    if (message === 'Connection closed') {
      // ClientTCP#handleClose fails every request awaiting a reply with this.
      const cause = this.socketError ? ` (${this.socketError.message})` : '';
      return this.error('disconnected', `connection to ${this.peer} closed before the reply${cause}`);
    }
    // Connection failures (ECONNREFUSED, the connect timeout above) carry a system error code.
    if (typeof (error as NodeJS.ErrnoException | undefined)?.code === 'string') {
      return this.error('unavailable', `${this.peer} is unreachable: ${message}`);
    }
    return this.error('send-failed', `request to ${this.peer} failed: ${message}`);
  }

  private error(code: PeerTransportError['code'], message: string): PeerTransportError {
    return new PeerTransportError(code, this.peer, message);
  }
}
