import { describe, expect, it } from 'vitest';
import { toGridRequest } from './grid-wire.ts';

const write = { op: 'write', partition: 1, data: new Uint8Array([1]) };
const read = { op: 'read', partition: 0, map: 'm', key: 'k', consistency: 'leader' };

describe('grid requests from peers', () => {
  it('accepts well-formed operation batches and long polls', () => {
    expect(toGridRequest({ kind: 'grid-ops', epoch: 1, ops: [write, read] }, 4)).not.toBeNull();
    expect(
      toGridRequest(
        {
          kind: 'grid-ops',
          epoch: 1,
          ops: [{ op: 'list', partition: 3, map: '', limit: 5, consistency: 'local' }],
        },
        4,
      ),
    ).not.toBeNull();
    expect(
      toGridRequest(
        {
          kind: 'grid-events',
          epoch: 2,
          polls: [
            [0, 1],
            [3, 99],
          ],
          waitMs: 100,
        },
        4,
      ),
    ).not.toBeNull();
  });

  it.each([
    ['not an object', 'grid-ops'],
    ['an array', [write]],
    ['no epoch', { kind: 'grid-ops', ops: [write] }],
    ['a negative epoch', { kind: 'grid-ops', epoch: -1, ops: [write] }],
    ['a fractional epoch', { kind: 'grid-ops', epoch: 1.5, ops: [write] }],
    ['an unknown kind', { kind: 'grid-admin', epoch: 1, ops: [write] }],
    ['no operations', { kind: 'grid-ops', epoch: 1, ops: [] }],
    ['a partition out of range', { kind: 'grid-ops', epoch: 1, ops: [{ ...write, partition: 4 }] }],
    ['a negative partition', { kind: 'grid-ops', epoch: 1, ops: [{ ...write, partition: -1 }] }],
    ['a partition as a string', { kind: 'grid-ops', epoch: 1, ops: [{ ...write, partition: '1' }] }],
    ['write data not binary', { kind: 'grid-ops', epoch: 1, ops: [{ ...write, data: 'x' }] }],
    ['an unknown operation', { kind: 'grid-ops', epoch: 1, ops: [{ ...write, op: 'drop' }] }],
    ['an unknown consistency', { kind: 'grid-ops', epoch: 1, ops: [{ ...read, consistency: 'eventual' }] }],
    ['a key not a string', { kind: 'grid-ops', epoch: 1, ops: [{ ...read, key: 7 }] }],
    ['a huge map name', { kind: 'grid-ops', epoch: 1, ops: [{ ...read, map: 'm'.repeat(70_000) }] }],
    ['too many operations', { kind: 'grid-ops', epoch: 1, ops: Array.from({ length: 10_001 }, () => read) }],
    [
      'a list without limit',
      { kind: 'grid-ops', epoch: 1, ops: [{ op: 'list', partition: 0, map: '', consistency: 'local' }] },
    ],
    ['a poll not a pair', { kind: 'grid-events', epoch: 1, polls: [[0]], waitMs: 1 }],
    ['a poll of a partition out of range', { kind: 'grid-events', epoch: 1, polls: [[9, 1]], waitMs: 1 }],
    ['a poll from a negative revision', { kind: 'grid-events', epoch: 1, polls: [[0, -1]], waitMs: 1 }],
    ['a poll with no hold', { kind: 'grid-events', epoch: 1, polls: [[0, 1]] }],
  ])('refuses %s', (_what, request) => {
    expect(toGridRequest(request, 4)).toBeNull();
  });
});
