import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FRAME_HEADER_BYTES, packFrame } from '../libs/imdgo/src/transport/msgpack-codec.ts';
import { RAFT_PATTERN, REQUEST_PATTERN } from '../libs/imdgo/src/transport/nest-tcp-transport.ts';
import { startCluster, type TestCluster, type TestNode } from './support/cluster.ts';
import { packetFrame } from '../libs/imdgo/testing/raw-peer.ts';
import { connectHostile, raftFrame } from './support/hostile-peer.ts';

/**
 * Throws random and mutated frames at the peer ports of a cluster without a secret (so that they reach
 * every layer: framing, Nest, envelope, Raft validation) while a writer keeps writing, and checks that the
 * cluster keeps serving, loses no acknowledged write, keeps its heap bounded, and that every connection
 * that broke the protocol was closed with a log line naming it. Reproduce a failure with its seed:
 * IMDGO_FUZZ_SEED=<seed> npx vitest run test/peer-fuzz.e2e-spec.ts
 */
const SEED = Number(process.env.IMDGO_FUZZ_SEED ?? 20_261_126);
const FRAMES = 2_000;
const MAX_HEAP_GROWTH_BYTES = 128 * 1024 * 1024;
const OUTSIDER = '127.0.0.1:9';

/** mulberry32: small, seedable, good enough to pick mutations. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(256)));
  }
}

const header = (length: number): Buffer => {
  const buffer = Buffer.alloc(FRAME_HEADER_BYTES);
  buffer.writeUInt32BE(length);
  return buffer;
};
const frameOf = (body: Buffer): Buffer => Buffer.concat([header(body.length), body]);

/** Values of every msgpack type, some nested, none a Nest packet. */
function randomValue(rng: Rng, depth = 0): unknown {
  const leaves = [
    () => rng.int(1_000_000) - 500_000,
    () => rng.next() * 1e300,
    () => Number.NaN,
    () => 'x'.repeat(rng.int(50)),
    () => rng.bytes(rng.int(40)),
    () => null,
    () => true,
    () => 2n ** 70n,
    () => new Date(rng.int(2 ** 40)),
  ];
  if (depth > 3 || rng.next() < 0.5) return rng.pick(leaves)();
  if (rng.next() < 0.5) return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
  return Object.fromEntries(
    Array.from({ length: rng.int(4) }, (_, i) => [`k${i}`, randomValue(rng, depth + 1)]),
  );
}

/** Values no numeric field of a Raft message may hold. */
const BAD_NUMBERS: unknown[] = [
  -1,
  -0.5,
  1.5,
  Number.NaN,
  Infinity,
  -Infinity,
  2 ** 53,
  1e300,
  '7',
  null,
  true,
  {},
  [],
  Buffer.alloc(1),
];
const BAD_BOOLEANS: unknown[] = [0, 1, 'true', null, {}, []];
const BAD_IDS: unknown[] = [7, null, {}, [], Buffer.from('127.0.0.1:1')];

const entry = (index: number) => ({ index, term: 1, kind: 'command', data: Buffer.from([1]) });

/** A valid message of each type from `from` to `to`, and the fields that must be checked. */
function templates(from: string, to: string) {
  const base = { from, to, term: 1 };
  return [
    { ...base, type: 'append', prevIndex: 5, prevTerm: 1, commit: 0, entries: [entry(6), entry(7)] },
    { ...base, type: 'append-response', success: true, index: 1, hintIndex: 0, hintTerm: 0 },
    { ...base, type: 'heartbeat', commit: 0, readRound: 0 },
    { ...base, type: 'heartbeat-response', readRound: 0 },
    { ...base, type: 'vote', lastIndex: 0, lastTerm: 0, transfer: false },
    { ...base, type: 'pre-vote', lastIndex: 0, lastTerm: 0, transfer: false },
    { ...base, type: 'vote-response', granted: false },
    { ...base, type: 'read-index', requestId: 1 },
    { ...base, type: 'read-index-response', requestId: 1, index: 0 },
    { ...base, type: 'snapshot', snapshot: { index: 1, term: 1, config: { voters: [from], learners: [] } } },
    { ...base, type: 'probe-response', round: 1, fresh: false, leader: null },
    { ...base, type: 'join', incarnation: 'abc', round: 1 },
  ] as Record<string, unknown>[];
}

/** A Raft message that must be refused: a valid one with exactly one field broken. */
function malformedMessage(rng: Rng, from: string, to: string): Record<string, unknown> {
  const message = structuredClone(rng.pick(templates(from, to)));
  const fields = Object.keys(message).filter((key) => key !== 'type');
  const field = rng.pick([...fields, 'type', 'entries', 'snapshot', 'from', 'to']);
  const value = message[field];
  if (field === 'type') {
    message.type = rng.pick(['explode', 'APPEND', 7, null, undefined]);
  } else if (field === 'from' || field === 'to') {
    // Another member than the envelope's sender, or than the receiver, or no id at all.
    message[field] = rng.pick([...BAD_IDS, '127.0.0.1:2', undefined]);
  } else if (field === 'entries' || (Array.isArray(value) && message.type === 'append')) {
    message.type = 'append';
    const entries: Record<string, unknown>[] = [entry(6), entry(7)];
    Object.assign(message, { prevIndex: 5, prevTerm: 1, commit: 0, entries });
    const victim = rng.pick(entries);
    rng.pick([
      () => (message.entries = rng.pick([null, 'entries', {}, 5])),
      () => (entries[1]!.index = rng.pick([6, 8, 9, 1e9])),
      () => (entries[0]!.index = rng.pick([5, 7, 0])),
      () => (victim.data = rng.pick(['data', [1, 2], 5, null, {}, undefined])),
      () => (victim.kind = rng.pick(['snapshot', 'COMMAND', 1, null])),
      () => (victim.term = rng.pick(BAD_NUMBERS)),
      () => (victim.term = 2), // newer than the message's own term
      () => (entries[0]!.term = 0), // older than prevTerm
      () => (message.prevTerm = 2), // newer than the message's term
      () => (message.entries = [...entries, null]),
      () =>
        (message.entries = Array.from({ length: 10_000 }, (_, i) => ({
          index: 6 + i,
          term: 1,
          kind: 'noop',
          data: 'x',
        }))),
      () => (entries[1]!.index = 2 ** 53),
    ])();
  } else if (field === 'snapshot') {
    message.type = 'snapshot';
    const config: Record<string, unknown> = { voters: [from], learners: [] };
    message.snapshot = { index: 1, term: 1, config };
    rng.pick([
      () => (message.snapshot = rng.pick([null, 5, 'snap', []])),
      () => ((message.snapshot as Record<string, unknown>).index = rng.pick(BAD_NUMBERS)),
      () => ((message.snapshot as Record<string, unknown>).config = rng.pick([null, 5, [], {}])),
      () => (config.voters = rng.pick([null, 'a', [1], [null], {}])),
      () => (config.voters = []),
      () => (config.voters = [from, from]),
      () => (config.voters = ['not an id']),
      () => (config.voters = Array.from({ length: 100_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:1`)),
      () => (config.learners = [from]),
      () => (config.learners = undefined),
      () => (config.incarnations = rng.pick([5, 'x', [], { [from]: 5 }])),
    ])();
  } else if (typeof value === 'boolean') {
    message[field] = rng.pick([...BAD_BOOLEANS, undefined]);
  } else if (typeof value === 'number') {
    message[field] = rng.pick([...BAD_NUMBERS, undefined]);
  } else {
    message[field] = rng.pick([7, {}, [], undefined, 'x'.repeat(10_000)]);
  }
  return message;
}

/** Bytes that break the protocol below the Raft layer: the node must close the connection they came on. */
function breakingBytes(rng: Rng, target: TestNode, leader: TestNode): Buffer {
  const valid = raftFrame(leader.id, [
    { type: 'heartbeat', from: leader.id, to: target.id, term: 0, commit: 0, readRound: 0 },
  ]);
  const generators: (() => Buffer)[] = [
    () => rng.bytes(1 + rng.int(300)),
    () => Buffer.concat([header(64 * 1024 * 1024 + 1 + rng.int(2 ** 31)), rng.bytes(rng.int(100))]),
    () => header(0),
    // Cut short, then the client hangs up.
    () => valid.subarray(0, 1 + rng.int(valid.length - 1)),
    // A length off by a few bytes either way.
    () =>
      Buffer.concat([
        header(valid.length - FRAME_HEADER_BYTES + rng.pick([-3, -1, 1, 7])),
        valid.subarray(FRAME_HEADER_BYTES),
      ]),
    () => packFrame(randomValue(rng)),
    () => packetFrame({ pattern: rng.pick(['imdgo.raft.x', 'other', '']), data: randomValue(rng) }),
    () => packetFrame({ pattern: { cmd: RAFT_PATTERN }, data: {} }),
    () => packetFrame({ id: 'r1', response: randomValue(rng) }),
    () => packetFrame({ pattern: RAFT_PATTERN, data: randomValue(rng) }),
    () => packetFrame({ pattern: RAFT_PATTERN, data: [rng.pick([5, 'x', 'host:0', null]), []] }),
    () => packetFrame({ pattern: RAFT_PATTERN, data: [leader.id, [], 1] }),
    () => packetFrame({ pattern: RAFT_PATTERN, data: { from: leader.id, body: [] } }),
    () => packetFrame({ pattern: REQUEST_PATTERN, data: {}, id: rng.pick([5, null, {}]) }),
    // Positional packets and Raft messages of no known kind or shape.
    () => packFrame([rng.pick([2, -1, 0.5, '0', null]), RAFT_PATTERN, [leader.id, []]]),
    () => packFrame([0, RAFT_PATTERN, [leader.id, []], undefined, undefined, 'extra']),
    () => raftFrame(leader.id, [[rng.pick([15, -1, 0.5, null]), undefined, leader.id, leader.id, 1]]),
    () => raftFrame(leader.id, [[8, undefined, leader.id, leader.id, 1, 'extra']]),
    () => Buffer.concat([raftFrame(leader.id, []), raftFrame(OUTSIDER, [])]),
    // Huge collections announced in a few bytes: array32, map32, str32, bin32.
    () => frameOf(Buffer.from([rng.pick([0xdd, 0xdf, 0xdb, 0xc6]), 0xff, 0xff, 0xff, 0xff, 1, 2, 3])),
    // Nesting deeper than any decoder's stack.
    () =>
      frameOf(
        Buffer.concat([
          Buffer.alloc(100_000 + rng.int(100_000), rng.pick([0x91, 0x81])),
          Buffer.from([0xc0]),
        ]),
      ),
  ];
  return rng.pick(generators)();
}

/** A request body the node must answer with an error, changing nothing. */
function malformedRequest(rng: Rng): unknown {
  return rng.pick([
    () => randomValue(rng),
    () => ({ kind: 'propose', data: rng.pick(['bytes', [1, 2], 5, null, {}]) }),
    () => ({ kind: 'get', map: rng.pick([5, null, []]), key: 'k' }),
    () => ({ kind: 'get', map: '', key: rng.pick([5, null, {}]) }),
    () => ({
      kind: 'snapshot-chunk',
      index: rng.pick(BAD_NUMBERS),
      offset: 0,
      total: 1,
      data: Buffer.alloc(1),
    }),
    () => ({
      kind: 'snapshot-chunk',
      index: 1,
      term: 1,
      offset: rng.pick([5, 1e9]),
      total: 1,
      data: Buffer.alloc(1),
    }),
    () => ({
      kind: 'snapshot-chunk',
      index: 1,
      term: 1,
      offset: 0,
      total: 1,
      data: rng.pick(['x', null, [1]]),
    }),
    () => ({ kind: 'config', change: rng.pick([5, null, {}, { type: 'remove', id: 7 }]) }),
    () => ({ kind: 'transfer', target: rng.pick([5, {}, []]) }),
    () => ({ kind: rng.pick(['explode', 5, null]) }),
  ])();
}

/** A request's answer is an error; a binary that parses as a forwarded batch gets one for each command. */
function refused(frame: unknown): boolean {
  const { err, response } = frame as { err?: unknown; response?: unknown };
  return Boolean(err) || (Array.isArray(response) && response.every((r) => typeof r === 'string'));
}

describe('a node under a stream of hostile frames', () => {
  let cluster: TestCluster;
  const warnings: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(
      (message: unknown) => void warnings.push(String(message)),
    );
    vi.spyOn(Logger.prototype, 'error').mockImplementation(
      (message: unknown) => void errors.push(String(message)),
    );
    cluster = await startCluster(3);
  });
  afterAll(async () => {
    await cluster.closeAll();
    vi.restoreAllMocks();
  });

  it(`keeps serving, loses nothing and closes every bad connection (seed ${SEED})`, async () => {
    const rng = new Rng(SEED);
    const leader = await cluster.leader();
    await leader.store.set('warm-up', 1);
    const heapBefore = process.memoryUsage().heapUsed;

    const acknowledged: number[] = [];
    const writing = new AbortController();
    const writer = (async () => {
      for (let i = 0; !writing.signal.aborted; i++) {
        const node = cluster.nodes[i % cluster.nodes.length]!;
        // A write that fails (a timeout during an election) was not acknowledged: nothing is owed.
        await node.store.set(`ack:${i}`, i).then(
          () => acknowledged.push(i),
          () => {},
        );
      }
    })();

    const unlogged: string[] = [];
    let frames = 0;
    let malformed = 0;
    let unanswered = 0;
    try {
      while (frames < FRAMES) {
        const target = rng.pick(cluster.nodes);
        const connection = await connectHostile(target.id, undefined, { hello: true });
        const category = rng.next();
        if (category < 0.4) {
          // Breaks the protocol: one frame, then the client hangs up; the node must close and log.
          connection.write(breakingBytes(rng, target, leader));
          connection.socket.end();
          frames++;
          const closed = await connection.closedWithin(2_000);
          const logged = () => warnings.some((w) => w.includes(`127.0.0.1:${connection.localPort}`));
          await vi.waitFor(() => expect(logged()).toBe(true), { timeout: 1_000 }).catch(() => {});
          if (!closed || !logged()) unlogged.push(`frame ${frames}: closed ${closed}, logged ${logged()}`);
        } else if (category < 0.6) {
          // Malformed requests: each must be answered with an error, on a connection that stays usable.
          const sent: string[] = [];
          for (let request = 0; request < 10 && frames < FRAMES; request++, frames++) {
            const id = `fuzz-${frames}`;
            sent.push(id);
            connection.write(
              packetFrame({
                pattern: REQUEST_PATTERN,
                id,
                data: [OUTSIDER, malformedRequest(rng)],
              }),
            );
          }
          const answered = () => connection.frames.filter(refused).length;
          await vi.waitFor(() => expect(answered()).toBe(sent.length), { timeout: 2_000 }).catch(() => {});
          if (answered() !== sent.length) unanswered += sent.length - answered();
          connection.close();
        } else {
          // Well-framed Raft batches of malformed messages from an outsider: the first refused closes the
          // connection, with one log line however many frames follow.
          for (let batch = 0; batch < 20 && frames < FRAMES; batch++, frames++) {
            const body = Array.from({ length: 1 + rng.int(3) }, () =>
              malformedMessage(rng, OUTSIDER, target.id),
            );
            connection.write(raftFrame(OUTSIDER, body));
          }
          malformed++;
          connection.socket.end();
          const closed = await connection.closedWithin(2_000);
          const logged = () =>
            warnings.some((w) => w.includes(`127.0.0.1:${connection.localPort}`) && w.includes('malformed'));
          await vi.waitFor(() => expect(logged()).toBe(true), { timeout: 1_000 }).catch(() => {});
          if (!closed || !logged())
            unlogged.push(`raft batch ${frames}: closed ${closed}, logged ${logged()}`);
        }
        if (frames % 250 < 20) await (await cluster.followers())[0]!.store.get('warm-up');
      }
    } finally {
      // Also when the loop throws: a writer left running on closed nodes spins on instant rejections.
      writing.abort();
      await writer;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unlogged).toEqual([]);
    expect(unanswered).toBe(0);
    expect(malformed).toBeGreaterThan(0);
    expect(errors.filter((e) => /halting|RaftInvariantError|two leaders/.test(e))).toEqual([]);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(MAX_HEAP_GROWTH_BYTES);

    expect(acknowledged.length).toBeGreaterThan(50);
    for (const node of cluster.nodes) {
      await node.store.get('warm-up');
      for (const i of acknowledged) expect(node.store.peek(`ack:${i}`)).toBe(i);
    }
    // A bound on the run, not a speed target: 2,000 frames take about 15 s on a quiet machine.
  }, 180_000);
});
