import type { NodeId } from '../raft/types.ts';
import { InvalidPartitionTableError } from './partition-errors.ts';
import {
  type PartitionReplicas,
  type PartitionTable,
  tableMembers,
  validatePartitionTable,
} from './partition-table.ts';

const FORMAT_VERSION = 1;

function fail(reason: string): never {
  throw new InvalidPartitionTableError(reason);
}

/**
 * JSON text: `{"v":1,"epoch":E,"members":[ids],"partitions":[[p0...],[p1...]...]}`. Member ids are written once
 * (sorted) and partitions refer to them by index, as `[leader's position among the voters, voter indexes...,
 * learners as -1 - index...]`, so a table of 271 partitions × 3 replicas takes about 3 KB whatever the id length.
 */
export function encodePartitionTable(table: PartitionTable): string {
  validatePartitionTable(table);
  const members = tableMembers(table).sort();
  const indexOf = new Map(members.map((id, index) => [id, index]));
  const partitions = table.partitions.map(({ voters, learners, leader }) => [
    voters.indexOf(leader),
    ...voters.map((id) => indexOf.get(id)!),
    ...learners.map((id) => -1 - indexOf.get(id)!),
  ]);
  return JSON.stringify({ v: FORMAT_VERSION, epoch: table.epoch, members, partitions });
}

/** The table in `text`; throws InvalidPartitionTableError when it is malformed or breaks a table rule. */
export function decodePartitionTable(text: string): PartitionTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidPartitionTableError(`not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('not an object');
  const { v, epoch, members, partitions } = parsed as Record<string, unknown>;
  if (v !== FORMAT_VERSION) fail(`unknown format version ${String(v)}`);
  if (typeof epoch !== 'number') fail('epoch is not a number');
  if (!Array.isArray(members) || !members.every((id) => typeof id === 'string' && id.length > 0)) {
    fail('members must be an array of non-empty strings');
  }
  const ids = members as NodeId[];
  if (new Set(ids).size !== ids.length) fail('members are listed twice');
  if (!Array.isArray(partitions)) return fail('partitions is not an array');
  const isIndex = (n: unknown): n is number =>
    Number.isInteger(n) && (n as number) >= -ids.length && (n as number) < ids.length;
  const decoded = partitions.map((entry: unknown, partition): PartitionReplicas => {
    if (!Array.isArray(entry) || entry.length < 2 || !entry.every(isIndex)) {
      return fail(`partition ${partition} is not a list of member indexes`);
    }
    const [leaderPosition, ...refs] = entry as number[];
    const voters = refs.filter((n) => n >= 0).map((n) => ids[n]!);
    const learners = refs.filter((n) => n < 0).map((n) => ids[-1 - n]!);
    const leader = voters[leaderPosition!];
    if (leader === undefined) return fail(`partition ${partition} names no leader among its voters`);
    return { voters, learners, leader };
  });
  const table: PartitionTable = { epoch: epoch as number, partitions: decoded };
  validatePartitionTable(table);
  return table;
}
