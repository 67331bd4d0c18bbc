import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { FRAME_HEADER_BYTES, unpackBody } from '../../libs/imdgo/src/transport/msgpack-codec.ts';
import { RAFT_PATTERN } from '../../libs/imdgo/src/transport/nest-tcp-transport.ts';
import { packetFromWire } from '../../libs/imdgo/src/transport/packet-layout.ts';
import { messagesToWire } from '../../libs/imdgo/src/transport/raft-wire.ts';
import { helloFrame, packetFrame } from '../../libs/imdgo/testing/raw-peer.ts';

/** A raw connection to a node's peer port, for sending it what no well-behaved member would. */
export interface HostileConnection {
  readonly socket: Socket;
  /** The local port, as the node's log lines name it (`127.0.0.1:<port>`). */
  readonly localPort: number;
  write(bytes: Buffer): void;
  /** Frames the node sent, decoded (Nest packets as objects), once they are complete. */
  readonly frames: unknown[];
  /** Resolves true once the node has closed the connection, false if it is still open after `ms`. */
  closedWithin(ms: number): Promise<boolean>;
  close(): void;
}

/**
 * Opens a connection to the member `id` (`host:port`), over TLS when `tls` is given; with `hello`, answers
 * the node's hello as a member of this release without a cluster secret does, so that what follows reaches
 * the checks behind the handshake (the node's hello is then `frames[0]`).
 */
export async function connectHostile(
  id: string,
  tls?: ConnectionOptions,
  { hello = false } = {},
): Promise<HostileConnection> {
  const [host, port] = [id.slice(0, id.lastIndexOf(':')), Number(id.slice(id.lastIndexOf(':') + 1))];
  const socket = tls ? connectTls({ ...tls, host, port }) : connectTcp(port, host);
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once(tls ? 'secureConnect' : 'connect', resolve));
  const frames: unknown[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= FRAME_HEADER_BYTES) {
      const end = FRAME_HEADER_BYTES + pending.readUInt32BE(0);
      if (pending.length < end) break;
      const body = unpackBody(pending.subarray(FRAME_HEADER_BYTES, end));
      frames.push(packetFromWire(body) ?? body);
      pending = pending.subarray(end);
    }
  });
  if (hello) {
    // The parser above listens first: after a 'data' event, `frames` holds what it completed.
    while (frames.length === 0) {
      if (socket.closed) throw new Error(`${id} closed the connection before its hello`);
      await Promise.race([new Promise((resolve) => socket.once('data', resolve)), closed]);
    }
    socket.write(helloFrame());
  }
  return {
    socket,
    localPort: socket.localPort!,
    frames,
    write: (bytes) => socket.write(bytes),
    closedWithin: (ms) =>
      Promise.race([
        closed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
      ]),
    close: () => socket.destroy(),
  };
}

/** A message positional as a member sends it, or as it is when it has no known shape or its entries do not pack. */
function positional(message: unknown): unknown {
  try {
    return (messagesToWire([message]) as unknown[])[0];
  } catch {
    return message;
  }
}

/** A Raft message batch on the peer port; a node reads (and validates) messages as objects too. */
export function raftFrame(from: string, body: unknown): Buffer {
  return packetFrame({
    pattern: RAFT_PATTERN,
    data: [from, Array.isArray(body) ? body.map(positional) : body],
  });
}
