import { connect, createServer, type Server, type Socket } from 'node:net';
import { FRAME_HEADER_BYTES, packFrame } from '../src/transport/msgpack-codec.ts';
import { packetToWire } from '../src/transport/packet-layout.ts';
import { PEER_PROTOCOL_VERSION } from '../src/transport/peer-handshake.ts';

/** What either side of a connection without a cluster secret sends first (see peer-hello.ts). */
export const helloFrame = (): Buffer => packFrame({ auth: 'hello', version: PEER_PROTOCOL_VERSION });

/** A Nest packet framed as a member sends it once connected (positional, packet-layout.ts). */
export const packetFrame = (packet: Record<string, unknown>): Buffer => {
  const wire = packetToWire(packet);
  if (wire === null) throw new Error(`no Nest packet: ${JSON.stringify(packet)}`);
  return packFrame(wire);
};

/** A raw TCP connection that splits what arrives into whole frames, kept as the bytes that crossed. */
export class RawPeer {
  readonly socket: Socket;
  readonly frames: Buffer[] = [];
  readonly closed: Promise<void>;
  private pending = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= FRAME_HEADER_BYTES) {
        const end = FRAME_HEADER_BYTES + this.pending.readUInt32BE(0);
        if (this.pending.length < end) break;
        this.frames.push(this.pending.subarray(0, end));
        this.pending = this.pending.subarray(end);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Opens a connection to the member `id` (`host:port`). */
  static async connect(id: string): Promise<RawPeer> {
    const socket = connect(Number(id.slice(id.lastIndexOf(':') + 1)), id.slice(0, id.lastIndexOf(':')));
    const peer = new RawPeer(socket);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return peer;
  }

  /** Answers the node's hello, as a member of this release does on a connection without a secret. */
  async hello(): Promise<void> {
    await this.frame(0);
    this.socket.write(helloFrame());
  }

  /** The `n`th frame received (from 0), once it is in. */
  async frame(n: number): Promise<Buffer> {
    while (this.frames.length <= n) {
      if (this.socket.closed) throw new Error(`closed after ${this.frames.length} frames`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), this.closed]);
    }
    return this.frames[n]!;
  }

  /** Whether the other side closed the connection within `ms`. */
  closedWithin(ms: number): Promise<boolean> {
    return Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
    ]);
  }
}

/** A raw TCP server on a member's address: what an attacker holding it, or a paused process, looks like. */
export interface RawServer {
  /** Every connection accepted so far. */
  readonly sockets: Socket[];
  /** Closes the server and every connection it accepted. */
  close(): Promise<void>;
}

/** Listens on `id`'s port on 127.0.0.1 and hands every accepted connection to `onConnection`. */
export async function listenRaw(
  id: string,
  onConnection: (socket: Socket) => void = () => {},
): Promise<RawServer> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    // Reading, so that it sees the other side close (a paused socket would not).
    socket.resume();
    sockets.push(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(id.slice(id.lastIndexOf(':') + 1)), '127.0.0.1', resolve);
  });
  return {
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
