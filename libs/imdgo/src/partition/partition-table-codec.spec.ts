import { describe, expect, it } from 'vitest';
import { InvalidPartitionTableError } from './partition-errors.ts';
import { createPartitionTable, type PartitionTable } from './partition-table.ts';
import { decodePartitionTable, encodePartitionTable } from './partition-table-codec.ts';

describe('partition table codec', () => {
  it('round-trips a table with learners and a leader that is not the first voter', () => {
    const table: PartitionTable = {
      epoch: 42,
      partitions: [
        { voters: ['n2', 'n1', 'n3'], learners: ['n4'], leader: 'n3' },
        { voters: ['n4'], learners: ['n1', 'n2'], leader: 'n4' },
      ],
    };
    const text = encodePartitionTable(table);
    expect(text).toBe(
      '{"v":1,"epoch":42,"members":["n1","n2","n3","n4"],"partitions":[[2,1,0,2,-4],[0,3,-1,-2]]}',
    );
    expect(decodePartitionTable(text)).toEqual(table);
  });

  it('writes each member id once, so 271 partitions × 3 replicas stay small', () => {
    const members = Array.from({ length: 6 }, (_, i) => `member-${i}-5f0c2a7e-0a1b-4c3d-9e8f-123456789abc`);
    const table = createPartitionTable(271, members, 3);
    const text = encodePartitionTable(table);
    expect(text.length).toBeLessThan(3500);
    expect(decodePartitionTable(text)).toEqual(table);
  });

  it('refuses to encode an invalid table', () => {
    const table = { epoch: 1, partitions: [{ voters: ['a'], learners: [], leader: 'b' }] };
    expect(() => encodePartitionTable(table)).toThrow(/leader b is not one of its voters/);
  });

  it.each([
    ['text that is not JSON', '{', /not JSON/],
    ['a non-object', '3', /not an object/],
    ['another version', '{"v":2}', /unknown format version 2/],
    ['a missing epoch', '{"v":1,"members":[],"partitions":[]}', /epoch is not a number/],
    ['bad members', '{"v":1,"epoch":1,"members":[""],"partitions":[]}', /non-empty strings/],
    ['duplicate members', '{"v":1,"epoch":1,"members":["a","a"],"partitions":[]}', /listed twice/],
    ['no partitions', '{"v":1,"epoch":1,"members":["a"],"partitions":[]}', /1 to 65536 partitions/],
    [
      'an index out of range',
      '{"v":1,"epoch":1,"members":["a"],"partitions":[[0,1]]}',
      /partition 0 is not a list/,
    ],
    ['a missing leader', '{"v":1,"epoch":1,"members":["a","b"],"partitions":[[1,0]]}', /names no leader/],
    [
      'a learner-only partition',
      '{"v":1,"epoch":1,"members":["a"],"partitions":[[0,-1]]}',
      /names no leader/,
    ],
    ['a duplicate replica', '{"v":1,"epoch":1,"members":["a"],"partitions":[[0,0,-1]]}', /a is listed twice/],
    ['a zero epoch', '{"v":1,"epoch":0,"members":["a"],"partitions":[[0,0]]}', /epoch must be a positive/],
  ])('refuses %s with a clear error', (_name, text, message) => {
    expect(() => decodePartitionTable(text)).toThrow(InvalidPartitionTableError);
    expect(() => decodePartitionTable(text)).toThrow(message);
  });
});
