import { describe, expect, it } from 'vitest';
import { encodeConfig } from '../raft/membership.ts';
import { toRaftMessage } from './wire-validation.ts';

const A = '10.0.0.1:6701';
const B = '10.0.0.2:6701';
const base = { from: A, to: B, term: 3 };
const entry = (index: number, term = 3, kind = 'command', data: unknown = Buffer.from([1])) => ({
  index,
  term,
  kind,
  data,
});
const append = (changes: Record<string, unknown> = {}) => ({
  ...base,
  type: 'append',
  prevIndex: 5,
  prevTerm: 2,
  commit: 4,
  entries: [entry(6, 2), entry(7)],
  ...changes,
});
const snapshot = (config: unknown, changes: Record<string, unknown> = {}) => ({
  ...base,
  type: 'snapshot',
  snapshot: { index: 9, term: 3, config, ...changes },
});

describe('toRaftMessage', () => {
  it.each([
    ['an append', append()],
    ['a heartbeat append', append({ entries: [] })],
    ['a heartbeat', { ...base, type: 'heartbeat', commit: 4, readRound: 2 }],
    ['a quiesce heartbeat', { ...base, type: 'heartbeat', commit: 4, readRound: 2, quiesce: true }],
    [
      'an append of a configuration',
      append({ entries: [entry(6, 3, 'config', encodeConfig({ voters: [A], learners: [B] }))] }),
    ],
    [
      'an append response',
      { ...base, type: 'append-response', success: false, index: 5, hintIndex: 3, hintTerm: 1 },
    ],
    [
      'a heartbeat response with an incarnation',
      { ...base, type: 'heartbeat-response', readRound: 2, commit: 4, incarnation: 'i1' },
    ],
    [
      'an append response with the contact round its process heard',
      {
        ...base,
        type: 'append-response',
        success: true,
        index: 5,
        hintIndex: 0,
        hintTerm: 0,
        incarnation: 'i1',
        contact: 12,
      },
    ],
    [
      'a vote response with an incarnation',
      { ...base, type: 'vote-response', granted: true, incarnation: 'i1' },
    ],
    ['a read-index request', { ...base, type: 'read-index', requestId: 1, nonce: 77 }],
    ['a read-index response', { ...base, type: 'read-index-response', requestId: 1, nonce: 77, index: 9 }],
    [
      'a vote naming the seat',
      { ...base, type: 'vote', lastIndex: 1, lastTerm: 1, transfer: false, seat: 'i1' },
    ],
    ['a pre-vote', { ...base, type: 'pre-vote', lastIndex: 10, lastTerm: 2, transfer: false }],
    ['a snapshot', snapshot({ voters: [A, B], learners: ['[::1]:4000'], incarnations: { [A]: 'x' } })],
    ['a probe', { ...base, term: 0, type: 'probe', round: 1, incarnation: 'p1' }],
    [
      'a probe response',
      { ...base, term: 0, type: 'probe-response', round: 1, fresh: false, leader: A, prober: 'p1' },
    ],
    [
      'a probe response naming its process',
      {
        ...base,
        term: 0,
        type: 'probe-response',
        round: 1,
        fresh: true,
        leader: null,
        incarnation: 'i1',
        prober: 'p1',
      },
    ],
    ['a join', { ...base, type: 'join', incarnation: 'a1b2', round: 1 }],
    ['a timeout-now', { ...base, type: 'timeout-now' }],
  ])('accepts %s', (_, message) => {
    expect(toRaftMessage(message)).toBe(message);
  });

  it.each([
    ['not an object', [append()]],
    ['an unknown type', { ...base, type: 'explode' }],
    ['a sender that is no member id', append({ from: 'n1' })],
    ['a receiver that is no member id', append({ to: 7 })],
    ['a negative term', append({ term: -1 })],
    ['a NaN index', append({ prevIndex: Number.NaN })],
    ['an unsafe index', append({ commit: 2 ** 53 })],
    ['a fractional term', { ...base, type: 'vote', lastIndex: 1, lastTerm: 1.5, transfer: false }],
    [
      'a vote from a log newer than its term',
      { ...base, type: 'vote', lastIndex: 1, lastTerm: 4, transfer: false },
    ],
    ['a prevTerm newer than the term', append({ prevTerm: 4 })],
    ['entries with a gap', append({ entries: [entry(6), entry(8)] })],
    ['entries not right after prevIndex', append({ entries: [entry(5)] })],
    ['entries past the safe integers', append({ prevIndex: 2 ** 53 - 1, entries: [entry(2 ** 53)] })],
    ['an entry newer than the term', append({ entries: [entry(6, 4)] })],
    ['entry terms going back', append({ entries: [entry(6, 3), entry(7, 2)] })],
    ['an entry older than prevTerm', append({ entries: [entry(6, 1)] })],
    ['an entry with text data', append({ entries: [entry(6, 3, 'command', 'data')] })],
    ['an entry of an unknown kind', append({ entries: [entry(6, 3, 'snapshot')] })],
    [
      'a configuration entry that does not decode',
      append({ entries: [entry(6, 3, 'config', Buffer.from('{'))] }),
    ],
    [
      'a configuration entry without voters',
      append({ entries: [entry(6, 3, 'config', encodeConfig({ voters: [], learners: [] }))] }),
    ],
    ['a null entry', append({ entries: [null] })],
    ['a snapshot without config', snapshot(null)],
    ['a snapshot newer than the term', snapshot({ voters: [A], learners: [] }, { term: 4 })],
    ['a snapshot config without voters', snapshot({ voters: [], learners: [B] })],
    ['a snapshot config listing a member twice', snapshot({ voters: [A], learners: [A] })],
    ['a snapshot config of non-ids', snapshot({ voters: ['not an id'], learners: [] })],
    [
      'a huge snapshot config',
      snapshot({ voters: Array.from({ length: 2_000 }, (_, i) => `h${i}:1`), learners: [] }),
    ],
    ['incarnations of non-members', snapshot({ voters: [A], learners: [], incarnations: { [B]: 'x' } })],
    ['incarnations that are not strings', snapshot({ voters: [A], learners: [], incarnations: { [A]: 5 } })],
    [
      'an incarnation that is no string',
      { ...base, type: 'heartbeat-response', readRound: 2, commit: 4, incarnation: 1 },
    ],
    ['a heartbeat response without commit', { ...base, type: 'heartbeat-response', readRound: 2 }],
    [
      'a heartbeat with a quiesce flag not true',
      { ...base, type: 'heartbeat', commit: 4, readRound: 2, quiesce: 1 },
    ],
    ['a contact round without incarnation', { ...base, type: 'vote-response', granted: false, contact: 3 }],
    [
      'a heartbeat with a negative contact round',
      { ...base, type: 'heartbeat', commit: 1, readRound: 0, contact: -1 },
    ],
    ['a read-index request without nonce', { ...base, type: 'read-index', requestId: 1 }],
    ['a read-index response without nonce', { ...base, type: 'read-index-response', requestId: 1, index: 9 }],
    [
      'an endless seat',
      { ...base, type: 'vote', lastIndex: 1, lastTerm: 1, transfer: false, seat: 'x'.repeat(300) },
    ],
    [
      'a probe response naming a non-member leader',
      { ...base, type: 'probe-response', round: 1, fresh: true, leader: 'x', prober: 'p1' },
    ],
    [
      'a probe response with an endless incarnation',
      {
        ...base,
        type: 'probe-response',
        round: 1,
        fresh: true,
        leader: null,
        incarnation: 'x'.repeat(300),
        prober: 'p1',
      },
    ],
    ['a probe without its prober', { ...base, type: 'probe', round: 1 }],
    [
      'a probe response without the prober it answers',
      { ...base, type: 'probe-response', round: 1, fresh: true, leader: null },
    ],
    [
      'a join with an endless incarnation',
      { ...base, type: 'join', incarnation: 'x'.repeat(10_000), round: 1 },
    ],
  ])('refuses %s', (_, message) => {
    expect(toRaftMessage(message)).toBeNull();
  });
});
