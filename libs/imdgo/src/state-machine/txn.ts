import { isDeepStrictEqual } from 'node:util';
import type { KvRecord } from './kv-record.ts';

/**
 * One condition of a transaction on a key as of the entry's time (an expired key is absent). Exactly one
 * of `exists`, `version` (0: absent), `modRevision` (0: absent) or `value` (deep equality) is given.
 */
export type TxnCompare = { readonly map?: string; readonly key: string } & (
  | { readonly exists: boolean }
  | { readonly version: number }
  | { readonly modRevision: number }
  | { readonly value: unknown }
);

/** A write of a transaction's branch. */
export type TxnOp =
  | {
      readonly op: 'set';
      readonly map?: string;
      readonly key: string;
      readonly value: unknown;
      readonly ttlMs?: number;
    }
  | { readonly op: 'delete'; readonly map?: string; readonly key: string };

/**
 * If every compare holds, `success` is applied, else `failure`; either way atomically at one revision
 * (etcd's Txn). A branch writes a key at most once, so its writes commute and its size is known upfront.
 */
export interface TxnCommand {
  readonly op: 'txn';
  readonly compare: readonly TxnCompare[];
  readonly success: readonly TxnOp[];
  readonly failure: readonly TxnOp[];
}

/** What one write of the branch that ran did: the key's version after it (0: deleted or absent). */
export interface TxnOpResult {
  readonly map: string;
  readonly key: string;
  readonly version: number;
  /** For a delete: whether the key was there. */
  readonly deleted?: boolean;
}

/** Upper bounds on a transaction, so that one entry cannot stall every replica's apply. */
export const MAX_TXN_COMPARES = 128;
export const MAX_TXN_OPS = 128;

/** Whether `compare` holds for `current`, the key's live record (undefined when absent). */
export function compareHolds(compare: TxnCompare, current: KvRecord | undefined): boolean {
  if ('exists' in compare) return compare.exists === (current !== undefined);
  if ('version' in compare) return compare.version === (current?.version ?? 0);
  if ('modRevision' in compare) return compare.modRevision === (current?.modRevision ?? 0);
  return current !== undefined && isDeepStrictEqual(current.value, compare.value);
}

/** Why `command` is not a transaction every node can apply (peers' writes are untrusted), or null. */
export function txnProblem(command: Record<string, unknown>): string | null {
  const { compare, success, failure } = command;
  if (!Array.isArray(compare) || !Array.isArray(success) || !Array.isArray(failure))
    return 'a transaction needs compare, success and failure lists';
  if (compare.length > MAX_TXN_COMPARES) return `a transaction has at most ${MAX_TXN_COMPARES} compares`;
  for (const item of compare) {
    const problem = compareProblem(item);
    if (problem) return problem;
  }
  for (const branch of [success, failure]) {
    if (branch.length > MAX_TXN_OPS) return `a transaction branch has at most ${MAX_TXN_OPS} writes`;
    const written = new Set<string>();
    for (const op of branch) {
      const problem = opProblem(op);
      if (problem) return problem;
      const { map, key } = op as { map?: string; key: string };
      const id = JSON.stringify([map ?? '', key]);
      if (written.has(id)) return `a transaction branch writes key "${key}" more than once`;
      written.add(id);
    }
  }
  return null;
}

function addressProblem(item: unknown): string | null {
  if (typeof item !== 'object' || item === null) return 'a transaction item is not an object';
  const { map, key } = item as { map?: unknown; key?: unknown };
  if (typeof key !== 'string' || key.length === 0) return 'a transaction key is not a non-empty string';
  if (map !== undefined && typeof map !== 'string') return 'a transaction map is not a string';
  return null;
}

function compareProblem(item: unknown): string | null {
  const problem = addressProblem(item);
  if (problem) return problem;
  const compare = item as Record<string, unknown>;
  const targets = ['exists', 'version', 'modRevision', 'value'].filter((target) => target in compare);
  if (targets.length !== 1)
    return `a compare on "${String(compare.key)}" needs exactly one of exists, version, modRevision, value`;
  if ('exists' in compare && typeof compare.exists !== 'boolean') return 'exists is not a boolean';
  for (const target of ['version', 'modRevision'] as const) {
    const n = compare[target];
    if (target in compare && !(typeof n === 'number' && Number.isInteger(n) && n >= 0))
      return `${target} is not a non-negative integer`;
  }
  return null;
}

function opProblem(item: unknown): string | null {
  const problem = addressProblem(item);
  if (problem) return problem;
  const op = item as Record<string, unknown>;
  if (op.op === 'delete') return null;
  if (op.op !== 'set') return `unknown transaction operation ${String(op.op)}`;
  if (!('value' in op) || op.value === undefined) return 'a transaction set has no value';
  const ttlMs = op.ttlMs;
  if (ttlMs !== undefined && !(typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs >= 0))
    return 'ttlMs is not a finite number of milliseconds';
  return null;
}
