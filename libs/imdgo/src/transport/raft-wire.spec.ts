import { describe, expect, it } from 'vitest';
import type { Entry, Message } from '../raft/types.ts';
import { packEntries } from './entry-block.ts';
import { FRAME_HEADER_BYTES, packFrame, unpackBody } from './msgpack-codec.ts';
import { messagesFromWire, messagesToWire } from './raft-wire.ts';

// Buffers, as unpacked entries' data are (the apply decodes them without a view of its own).
const entries: Entry[] = [
  { index: 7, term: 2, kind: 'noop', data: Buffer.alloc(0) },
  { index: 8, term: 3, kind: 'command', data: Buffer.of(0xc1, 1, 2, 3) },
];
const envelope = { from: 'a:1', to: 'b:2', term: 3 };
const messages: (Message & { group?: number })[] = [
  { ...envelope, type: 'append', prevIndex: 6, prevTerm: 2, commit: 5, entries },
  { ...envelope, type: 'append', prevIndex: 8, prevTerm: 3, commit: 8, entries: [], group: 4 },
  { ...envelope, type: 'append', prevIndex: 8, prevTerm: 3, commit: 8, entries: [], contact: 3 },
  { ...envelope, type: 'append-response', success: true, index: 8, hintIndex: 0, hintTerm: 0 },
  {
    ...envelope,
    type: 'append-response',
    success: false,
    index: 8,
    hintIndex: 3,
    hintTerm: 1,
    incarnation: 'i',
    contact: 7,
  },
  { ...envelope, type: 'heartbeat', commit: 5, readRound: 2, quiesce: true },
  { ...envelope, type: 'heartbeat', commit: 5, readRound: 2, contact: 7 },
  { ...envelope, type: 'heartbeat-response', readRound: 2, commit: 5, incarnation: 'i' },
  { ...envelope, type: 'vote', lastIndex: 9, lastTerm: 3, transfer: false, seat: 'j' },
  { ...envelope, type: 'pre-vote', lastIndex: 9, lastTerm: 3, transfer: true },
  { ...envelope, type: 'vote-response', granted: true },
  { ...envelope, type: 'pre-vote-response', granted: false, incarnation: 'i' },
  { ...envelope, type: 'timeout-now' },
  { ...envelope, type: 'read-index', requestId: 4, nonce: 5 },
  { ...envelope, type: 'read-index-response', requestId: 4, nonce: 5, index: 9 },
  {
    ...envelope,
    type: 'snapshot',
    snapshot: { index: 9, term: 3, config: { voters: ['a:1'], learners: [] } },
  },
  { ...envelope, type: 'probe', round: 1, incarnation: 'p' },
  { ...envelope, type: 'probe-response', round: 1, fresh: false, leader: null, prober: 'p' },
  { ...envelope, type: 'probe-response', round: 1, fresh: true, leader: null, incarnation: 'i', prober: 'p' },
  { ...envelope, type: 'join', incarnation: 'i', round: 1 },
];

/** What the receiver gets: through msgpack as on a socket. */
const cross = (value: unknown): unknown => unpackBody(packFrame(value).subarray(FRAME_HEADER_BYTES));

describe('Raft messages on the wire', () => {
  it('come out as they went in, every type, with and without optional fields and group tags', () => {
    expect(messagesFromWire(cross(messagesToWire(messages)))).toStrictEqual(messages);
  });

  it('travel as arrays, an append with entries carrying them as one block, no key names', () => {
    const wire = messagesToWire(messages) as unknown[][];
    expect(wire.every(Array.isArray)).toBe(true);
    expect(wire[0]![7]).toBe(packEntries(entries));
    expect(Buffer.from(packFrame(wire[2])).includes('hintIndex')).toBe(false);
  });

  it('leave what is no known message as it is, for the receiver to refuse', () => {
    const odd = [
      { ...envelope, type: 'gossip' },
      { ...envelope, type: 'probe', round: 1, incarnation: 'p', extra: 1 },
      7,
    ];
    expect(messagesToWire(odd)).toStrictEqual(odd);
    expect(messagesToWire('x')).toBe('x');
    expect(messagesFromWire(odd)).toStrictEqual(odd);
  });

  it.each([
    ['an unknown type code', [99, undefined, 'a:1', 'b:2', 3]],
    ['a fractional type code', [0.5, undefined, 'a:1', 'b:2', 3]],
    ['more fields than the type has', [8, undefined, 'a:1', 'b:2', 3, 'extra']],
    ['a cut entry block', [0, undefined, 'a:1', 'b:2', 3, 6, 2, packEntries(entries).subarray(0, 30), 5]],
  ])('refuse %s', (_, wire) => {
    expect(() => messagesFromWire([wire])).toThrow(/malformed/);
  });
});
