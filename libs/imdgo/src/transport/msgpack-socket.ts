import { Logger, type Type } from '@nestjs/common';
import { TcpSocket } from '@nestjs/microservices';
import type { Socket } from 'node:net';
import { FRAME_HEADER_BYTES, packFrame, unpackBody } from './msgpack-codec.ts';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
export const DEFAULT_KEEP_ALIVE_MS = 5_000;

export interface MsgpackSocketOptions {
  /** Largest frame body accepted or sent, in bytes (default 64 MiB). */
  maxFrameBytes?: number;
  /** Idle time before TCP keepalive probes start, in ms (default 5 s). */
  keepAliveMs?: number;
}

/** A frame that cannot be accepted; the connection it came on is dropped. */
export class FrameError extends Error {
  override name = 'FrameError';
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
 * re-encoded as JSON.
 *
 * Unlike JsonSocket it never pauses reading while its writes are backed up:
 * two peers that both wait for the other to drain before reading again
 * deadlock. Bounding what is queued is left to the caller (in-flight limits).
 *
 * A bad length, an undecodable body or a value that is not a Nest packet logs
 * one line and destroys the connection; nothing is thrown into the process.
 */
export class MsgpackSocket extends TcpSocket {
  private static readonly logger = new Logger('MsgpackSocket');

  private readonly maxFrameBytes: number;
  /** Received bytes not consumed yet; a frame is copied out of them at most once. */
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Body length of the frame being received, once its header is in. */
  private bodyBytes: number | null = null;
  private failed = false;

  constructor(socket: Socket, options: MsgpackSocketOptions = {}) {
    super(socket);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    // Set here as this class wraps both accepted and outgoing sockets (Node
    // applies them on connect): small Raft messages must not wait on Nagle, and
    // a peer that vanished without a FIN must still be noticed.
    socket.setNoDelay(true);
    socket.setKeepAlive(true, options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS);
  }

  protected handleSend(message: unknown, callback?: (err?: unknown) => void): void {
    const frame = packFrame(message);
    if (frame.length - FRAME_HEADER_BYTES > this.maxFrameBytes) {
      // The receiver would drop the whole connection, failing every other request on it.
      throw new FrameError(`frame of ${frame.length} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
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
    while (!this.failed) {
      if (this.bodyBytes === null) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) {
          return;
        }
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length === 0) {
          throw new FrameError('empty frame');
        }
        if (length > this.maxFrameBytes) {
          throw new FrameError(`frame length ${length} exceeds the ${this.maxFrameBytes}-byte limit`);
        }
        this.bodyBytes = length;
      }
      if (this.bufferedBytes < this.bodyBytes) {
        return;
      }
      const body = this.take(this.bodyBytes);
      this.bodyBytes = null;
      this.socket.emit('message', this.decode(body));
    }
  }

  /** Reached through TcpSocket#onData when handleData throws. */
  protected override handleDataError(error: unknown): void {
    this.failed = true;
    this.chunks = [];
    this.bufferedBytes = 0;
    const reason = error instanceof Error ? error.message : String(error);
    const peer = `${this.socket.remoteAddress}:${this.socket.remotePort}`;
    MsgpackSocket.logger.warn(`Dropping connection with ${peer}: ${reason}`);
    this.socket.destroy();
  }

  private decode(body: Buffer): Record<string, unknown> {
    let packet: unknown;
    try {
      packet = unpackBody(body);
    } catch (error) {
      throw new FrameError(`undecodable frame body (${(error as Error).message})`);
    }
    if (!isNestPacket(packet)) {
      throw new FrameError('frame body is not a Nest packet');
    }
    return packet;
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
