import { describe, expect, it } from 'vitest';
import type { Entry, HardState, Message, Ready } from '../raft/types.ts';
import { afterWrite, aheadOfDisk, type DurablePoint } from './ahead-of-disk.ts';

const entry = (index: number, term = 2): Entry => ({ index, term, kind: 'command', data: new Uint8Array() });
const envelope = { from: 'a', to: 'b', term: 2 } as const;
const append = (commit: number, entries: Entry[] = []): Message => ({
  ...envelope,
  type: 'append',
  prevIndex: 4,
  prevTerm: 2,
  entries,
  commit,
});
const heartbeat = (commit: number): Message => ({ ...envelope, type: 'heartbeat', commit, readRound: 0 });
const appendResponse: Message = {
  ...envelope,
  type: 'append-response',
  success: true,
  index: 6,
  hintIndex: 0,
  hintTerm: 0,
};
const vote: Message = { ...envelope, type: 'vote', lastIndex: 5, lastTerm: 2, transfer: false };

const durable: DurablePoint = { term: 2, vote: 'a', lastIndex: 5 };

function ready(parts: Partial<Pick<Ready, 'hardState' | 'messages' | 'committedEntries' | 'snapshot'>>) {
  return { hardState: null, messages: [], committedEntries: [], snapshot: null, ...parts };
}

describe('aheadOfDisk', () => {
  it("lets a leader's appends and heartbeats go before its write; answers wait for it", () => {
    const early = [append(5, [entry(6), entry(7)]), heartbeat(4)];
    const split = aheadOfDisk(ready({ messages: [...early, appendResponse] }), durable);
    expect(split.messages).toEqual(early);
    expect(split.laterMessages).toEqual([appendResponse]);
  });

  it('holds an append whose commit index covers entries not yet durable here', () => {
    // A single voter commits its own entries at once: a learner must not apply what a crash here loses.
    const split = aheadOfDisk(ready({ messages: [append(7, [entry(6), entry(7)]), heartbeat(6)] }), durable);
    expect(split.messages).toEqual([]);
    expect(split.laterMessages).toHaveLength(2);
  });

  it.each<[string, HardState]>([
    ['a new term', { term: 3, vote: null, commit: 5 }],
    ['a new vote', { term: 2, vote: 'b', commit: 5 }],
  ])('holds every message of a Ready that writes %s', (_, hardState) => {
    const messages = [append(5), vote];
    const split = aheadOfDisk(ready({ hardState, messages, committedEntries: [entry(5)] }), durable);
    expect(split.messages).toEqual([]);
    expect(split.laterMessages).toEqual(messages);
    expect(split.committed).toEqual([]);
  });

  it('lets a Ready that only moves the commit index send first', () => {
    const split = aheadOfDisk(
      ready({ hardState: { term: 2, vote: 'a', commit: 5 }, messages: [append(5)] }),
      durable,
    );
    expect(split.messages).toHaveLength(1);
  });

  it('applies first the committed entries that are durable, the rest after the write', () => {
    const split = aheadOfDisk(ready({ committedEntries: [entry(4), entry(5), entry(6)] }), durable);
    expect(split.committed.map((e) => e.index)).toEqual([4, 5]);
    expect(split.laterCommitted.map((e) => e.index)).toEqual([6]);
  });

  it('orders everything after a snapshot the Ready installs', () => {
    const snapshot = { index: 9, term: 2, config: { voters: ['a'], learners: [] } };
    const split = aheadOfDisk(
      ready({ snapshot, messages: [append(5)], committedEntries: [entry(5)] }),
      durable,
    );
    expect(split.messages).toEqual([]);
    expect(split.committed).toEqual([]);
  });
});

describe('afterWrite', () => {
  it('ends at the last entry written, lower too when they replaced a longer log', () => {
    expect(afterWrite(durable, { hardState: null, entries: [entry(3), entry(4)], snapshot: null })).toEqual({
      ...durable,
      lastIndex: 4,
    });
  });

  it('takes the hard state written, and keeps the end when no entry was', () => {
    const hardState = { term: 3, vote: 'c', commit: 5 };
    expect(afterWrite(durable, { hardState, entries: [], snapshot: null })).toEqual({
      term: 3,
      vote: 'c',
      lastIndex: 5,
    });
  });

  it("ends at an installed snapshot's index when no entry follows it", () => {
    const snapshot = { index: 9, term: 2, config: { voters: ['a'], learners: [] } };
    expect(afterWrite(durable, { hardState: null, entries: [], snapshot }).lastIndex).toBe(9);
  });
});
