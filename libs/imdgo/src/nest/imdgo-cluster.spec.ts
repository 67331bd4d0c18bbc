import { describe, expect, it } from 'vitest';
import { RequestTimeoutError } from '../errors.ts';
import { ImdgoCluster } from './imdgo-cluster.ts';
import type { ImdgoRuntime } from './imdgo-runtime.ts';

describe('ImdgoCluster.addMember', () => {
  it('gives up on a learner that never catches up, saying how long it waited', async () => {
    const changes: unknown[] = [];
    const runtime = {
      options: { requestTimeoutMs: 5, tickMs: 1 },
      node: {
        changeMembership: async (change: unknown) => void changes.push(change),
        isCaughtUp: async () => false,
      },
    } as unknown as ImdgoRuntime;
    const attempt = new ImdgoCluster(runtime).addMember('127.0.0.1:7001');
    await expect(attempt).rejects.toBeInstanceOf(RequestTimeoutError);
    await expect(attempt).rejects.toThrow('catching up 127.0.0.1:7001 did not complete within 30 ms');
    // Added as a learner, never promoted.
    expect(changes).toEqual([{ type: 'add-learner', id: '127.0.0.1:7001' }]);
  });
});
