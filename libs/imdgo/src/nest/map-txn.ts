import { InvalidArgumentError, StoreFullError, ValueTooLargeError } from '../errors.ts';
import { encodedSize } from '../state-machine/commands.ts';
import { txnProblem, type TxnCommand, type TxnCompare, type TxnOp } from '../state-machine/txn.ts';
import type { ImdgoRuntime } from './imdgo-runtime.ts';
import type { KeyValueBackend } from './key-value-backend.ts';
import { checkKey, checkValue, ttlOf } from './imdgo-map.ts';

/** A condition on a key of the map: exactly one of `exists`, `version` (0: absent), `modRevision`, `value`. */
export type TxnCondition<V> = { readonly key: string } & (
  | { readonly exists: boolean }
  | { readonly version: number }
  | { readonly modRevision: number }
  /** Deep equality with the key's value; an absent key matches no value. */
  | { readonly value: V }
);

export type TxnWrite<V> =
  | { readonly op: 'set'; readonly key: string; readonly value: V; readonly ttl?: number }
  | { readonly op: 'delete'; readonly key: string };

/**
 * etcd's Txn: if every `compare` holds, the `success` writes are applied, else the `failure` writes,
 * atomically at one revision. A branch writes a key at most once. (Not `if/then/else`: an object with a
 * `then` would pass for a promise.) With `partitions` > 1 a transaction's keys must share a partition: keys
 * with a common hash tag in braces (`{order:7}:total`, `{order:7}:lines`) always do.
 */
export interface TxnRequest<V> {
  readonly compare?: readonly TxnCondition<V>[];
  readonly success?: readonly TxnWrite<V>[];
  readonly failure?: readonly TxnWrite<V>[];
}

export interface TxnResult {
  /** True when every compare held and `success` ran; false when `failure` ran. */
  readonly succeeded: boolean;
  readonly revision: number;
  /** The partition of every key of the transaction: revisions are per partition. */
  readonly partition: number;
  /** Per write of the branch that ran, in order: the key's version after it (0: deleted or absent). */
  readonly results: readonly { readonly key: string; readonly version: number; readonly deleted?: boolean }[];
}

/** Validates `request`, sends it as one log entry (exactly once through the client session) and reports. */
export async function commitTxn<V>(
  runtime: ImdgoRuntime,
  map: string,
  request: TxnRequest<V>,
): Promise<TxnResult> {
  if (typeof request !== 'object' || request === null)
    throw new InvalidArgumentError('a transaction is an object with compare, success and failure lists');
  for (const part of ['compare', 'success', 'failure'] as const) {
    if (request[part] !== undefined && !Array.isArray(request[part]))
      throw new InvalidArgumentError(`the transaction's "${part}" is not a list`);
  }
  const maxValueBytes = runtime.options.maxValueBytes;
  const toOp = (write: TxnWrite<V>): TxnOp => {
    checkKey(write.key);
    if (write.op === 'delete') return { op: 'delete', map, key: write.key };
    if (write.op !== 'set')
      throw new InvalidArgumentError(
        `unknown transaction operation ${String((write as { op: unknown }).op)}`,
      );
    checkValue(write.value);
    const valueBytes = encodedSize(write.value);
    if (valueBytes > maxValueBytes) throw new ValueTooLargeError(valueBytes, maxValueBytes);
    return { op: 'set', map, key: write.key, value: write.value, ttlMs: ttlOf({ ttl: write.ttl }) };
  };
  const compare = (request.compare ?? []).map((condition): TxnCompare => {
    checkKey(condition.key);
    // undefined would not survive encoding, and no stored value equals it: absence is `exists: false`.
    if ('value' in condition && condition.value === undefined)
      throw new InvalidArgumentError(`compare "${condition.key}" with exists: false, not value: undefined`);
    return { ...condition, map };
  });
  const command: TxnCommand = {
    op: 'txn',
    compare,
    success: (request.success ?? []).map(toOp),
    failure: (request.failure ?? []).map(toOp),
  };
  const problem = txnProblem(command as unknown as Record<string, unknown>);
  if (problem) throw new InvalidArgumentError(problem);
  const backend = runtime.backend;
  const partition = partitionOfTxn(backend, map, command);
  const result = await backend.write(partition, command);
  if (result.refusal === 'no-space') throw new StoreFullError(result.maxStoreBytes ?? 0);
  return {
    succeeded: result.applied,
    revision: result.revision,
    partition,
    results: (result.txn ?? []).map(({ key, version, deleted }) =>
      deleted === undefined ? { key, version } : { key, version, deleted },
    ),
  };
}

/** The one partition every key of the transaction lives in; refuses keys spread over several. */
function partitionOfTxn(backend: KeyValueBackend, map: string, command: TxnCommand): number {
  const keys = [...command.compare, ...command.success, ...command.failure].map((part) => part.key);
  if (keys.length === 0) return 0;
  const first = backend.partitionOf(map, keys[0]!);
  const other = keys.find((key) => backend.partitionOf(map, key) !== first);
  if (other === undefined) return first;
  throw new InvalidArgumentError(
    `a transaction's keys must share one partition, but "${keys[0]}" is in partition ${first} and ` +
      `"${other}" in partition ${backend.partitionOf(map, other)}: give them a common hash tag in braces ` +
      `(e.g. "{order:7}:total" and "{order:7}:lines"), which places keys in the partition of the tag alone`,
  );
}
