/**
 * Encode and decode cost of the peer frames a forwarded write causes, in the layout this tree sends and
 * in the object layout with record definitions in each frame that protocol version 2 sent (v2 below).
 * `node bench/wire-micro.ts`: µs per frame (pack and unpack) for each.
 */
import { FRAME_HEADER_BYTES, packFrame, unpackBody } from '../libs/imdgo/src/transport/msgpack-codec.ts';
import { packEntries } from '../libs/imdgo/src/transport/entry-block.ts';
import { packetFromWire, packetToWire } from '../libs/imdgo/src/transport/packet-layout.ts';
import { messagesFromWire, messagesToWire } from '../libs/imdgo/src/transport/raft-wire.ts';
import { packCommands, unpackCommands } from '../libs/imdgo/src/driver/forward-block.ts';
import { outcomeOf, resultOf } from '../libs/imdgo/src/driver/forward-outcome.ts';
import type { Entry } from '../libs/imdgo/src/raft/types.ts';

const [a, b] = ['127.0.0.1:7001', '127.0.0.1:7002'];
const command = new Uint8Array(140).fill(7);
const entries: Entry[] = Array.from({ length: 16 }, (_, i) => ({
  index: 100 + i,
  term: 3,
  kind: 'command',
  data: command.slice(),
}));
const append = { type: 'append', from: a, to: b, term: 3, prevIndex: 99, prevTerm: 3, commit: 98, entries };
const response = {
  type: 'append-response',
  from: b,
  to: a,
  term: 3,
  success: true,
  index: 115,
  hintIndex: 0,
  hintTerm: 0,
  incarnation: 'abc',
};
const heartbeat = { type: 'heartbeat', from: a, to: b, term: 3, commit: 115, readRound: 7 };
// The set each result answers: an applied set's result holds the value the set carried.
const set = { op: 'set', key: 'key:000123', value: 'v'.repeat(100) } as const;
// Distinct objects, as msgpackr's structured clone would send a shared one once.
const result = () => ({
  applied: true,
  revision: 120,
  previous: `${Math.random()}`.padEnd(100, 'x'),
  value: set.value,
  version: 4,
});
const batch = Array.from({ length: 32 }, () => command.slice());

const oldCodec = {
  raft: (body: unknown[]) =>
    packFrame({
      pattern: 'imdgo.raft',
      data: {
        from: a,
        body: body.map((m: any) => (m.type === 'append' ? { ...m, entries: packEntries(m.entries) } : m)),
      },
    }),
  request: () =>
    packFrame({
      pattern: 'imdgo.request',
      data: { from: b, body: { kind: 'propose-batch', data: batch } },
      id: 'abc-123',
    }),
  reply: () =>
    packFrame({ response: batch.map(() => ({ result: result() })), isDisposed: true, id: 'abc-123' }),
  decode: (frame: Buffer) => unpackBody(frame.subarray(FRAME_HEADER_BYTES)),
};
const newCodec = {
  raft: (body: unknown[]) =>
    packFrame(packetToWire({ pattern: 'imdgo.raft', data: [a, messagesToWire(body)] })),
  request: () =>
    packFrame(packetToWire({ pattern: 'imdgo.request', data: [b, packCommands(batch)], id: 'abc-123' })),
  reply: () =>
    packFrame(
      packetToWire({
        response: batch.map(() => outcomeOf(result(), set)),
        isDisposed: true,
        id: 'abc-123',
      }),
    ),
  decode: (frame: Buffer) => {
    const packet = packetFromWire(unpackBody(frame.subarray(FRAME_HEADER_BYTES)))!;
    const data = packet.data as unknown[] | undefined;
    if (packet.pattern === 'imdgo.raft') return messagesFromWire(data![1]);
    if (Array.isArray(packet.response)) return packet.response.map((outcome) => resultOf(outcome, set));
    return unpackCommands(data![1] as Uint8Array);
  },
};

function time(name: string, codec: typeof oldCodec, make: (c: typeof oldCodec) => Buffer): number {
  const rounds = 20_000;
  let sink = 0;
  for (let i = 0; i < 2_000; i++) sink += (codec.decode(make(codec)) as unknown[] | null)?.length ?? 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) sink += (codec.decode(make(codec)) as unknown[] | null)?.length ?? 0;
  const us = Number(process.hrtime.bigint() - start) / 1e3 / rounds;
  if (sink < 0) console.log(sink);
  return us;
}

const frames: [string, (c: typeof oldCodec) => Buffer][] = [
  ['append of 16 entries', (c) => c.raft([append])],
  ['append-response', (c) => c.raft([response])],
  ['heartbeat', (c) => c.raft([heartbeat])],
  ['forwarded batch of 32', (c) => c.request()],
  ['its 32 results', (c) => c.reply()],
];
console.log('frame                      bytes v2  bytes v3   µs v2   µs v3   (pack + unpack, median of 5)');
for (const [name, make] of frames) {
  const median = (codec: typeof oldCodec) => {
    const runs = Array.from({ length: 5 }, () => time(name, codec, make)).sort((x, y) => x - y);
    return runs[2]!;
  };
  const [v2, v3] = [median(oldCodec), median(newCodec)];
  console.log(
    `${name.padEnd(26)} ${String(make(oldCodec).length).padStart(8)}  ${String(make(newCodec).length).padStart(8)}  ${v2.toFixed(2).padStart(6)}  ${v3.toFixed(2).padStart(6)}`,
  );
}
