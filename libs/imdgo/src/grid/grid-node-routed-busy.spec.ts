import { describe, expect, it } from 'vitest';
import type { RaftNode } from '../driver/raft-node.ts';
import { BusyError, RequestTimeoutError } from '../errors.ts';
import { SeededRandom } from '../raft/random.ts';
import type { CommandResult } from '../state-machine/commands.ts';
import type { GridOp } from './grid-wire.ts';
import { GRID_TUNING, unstartedGridNode } from './testing/unstarted-grid-node.ts';

/**
 * A routed write whose answer was lost, and then a table that places a replica of its partition here: the
 * local replica, overloaded, answers BUSY ("not applied"), which the routed attempt may belie.
 */
function routedThenLocal(local: { writeStamped(data: Uint8Array): Promise<CommandResult> }) {
  const node = unstartedGridNode('a:1', {
    random: new SeededRandom(1),
    group: { ...GRID_TUNING, tickMs: 10, requestTimeoutMs: 300 },
  });
  let placedHere = false;
  const internals = node as unknown as {
    host: { group(group: number): unknown };
    batcher: { call(target: string, op: GridOp, timeoutMs: number): Promise<unknown> };
    run(op: GridOp): Promise<unknown>;
  };
  internals.host = { group: () => (placedHere ? (local as unknown as RaftNode) : undefined) };
  internals.batcher = {
    call: () => {
      placedHere = true;
      return Promise.reject(new Error('no answer: the connection dropped'));
    },
  };
  return internals.run({ op: 'write', partition: 0, data: new Uint8Array([1]) });
}

const applied: CommandResult = { applied: true, revision: 7 } as CommandResult;

describe('a routed write that a replica here then serves', () => {
  it('is not called BUSY (not applied) when the replica elsewhere may have applied it: its outcome is unknown', async () => {
    const outcome = routedThenLocal({ writeStamped: () => Promise.reject(new BusyError(1000)) });
    await expect(outcome).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it('waits out the local replica being busy, then applies under the same stamp', async () => {
    let calls = 0;
    const outcome = routedThenLocal({
      writeStamped: () => (++calls < 3 ? Promise.reject(new BusyError(1000)) : Promise.resolve(applied)),
    });
    await expect(outcome).resolves.toEqual(applied);
    expect(calls).toBe(3);
  });
});
