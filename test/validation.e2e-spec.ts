import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { ImdgoModule, InvalidKeyError, ValueTooLargeError } from 'imdgo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packCommands } from '../libs/imdgo/src/driver/forward-block.ts';
import { encodeCommand } from '../libs/imdgo/src/state-machine/commands.ts';
import { startCluster, type TestCluster } from './support/cluster.ts';
import { testLogger } from './support/quiet-logs.ts';

async function startWith(options: Record<string, unknown>): Promise<unknown> {
  try {
    const module = await Test.createTestingModule({ imports: [ImdgoModule.forRoot(options as never)] })
      .setLogger(testLogger())
      .compile();
    await module.close();
    return null;
  } catch (error) {
    return error;
  }
}

describe('invalid options fail at startup naming the field', () => {
  it.each([
    [{ members: ['127.0.0.1:70000'] }, /port 70000/],
    [{ members: ['not a host'] }, /members.*host:port/],
    [{ members: ['127.0.0.1:1', '127.0.0.1:1'] }, /127\.0\.0\.1:1" twice/],
    [
      { members: ['127.0.0.1:1'], electionTicks: 2, heartbeatTicks: 2 },
      /electionTicks \(2\) must be greater than heartbeatTicks \(2\)/,
    ],
    [{ members: ['127.0.0.1:1'], tickMs: -5 }, /"tickMs" \(value -5\)/],
    [{ members: ['127.0.0.1:1'], colour: 'blue' }, /unknown option "colour"/],
    [{ members: [] }, /"members"/],
    [{ members: ['127.0.0.1:1'], partitions: 0 }, /"partitions" \(value 0\)/],
    [{ members: ['127.0.0.1:1'], partitions: 2.5 }, /"partitions" \(value 2\.5\)/],
    [{ members: ['127.0.0.1:1'], partitions: 70_000 }, /"partitions" \(value 70000\)/],
    [{ members: ['127.0.0.1:1'], replicas: 0 }, /"replicas" \(value 0\)/],
    [{ members: ['127.0.0.1:1'], replicas: '3' }, /"replicas" \(value "3"\)/],
  ])('%j', async (options, message) => {
    const error = await startWith(options);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
  });
});

describe('bad input through the store', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // The retried write is sent as the one group's raw propose frame.
    cluster = await startCluster(3, { partitions: 1, maxValueBytes: 1024 });
  });
  afterAll(async () => {
    await cluster.closeAll();
  });

  it('rejects invalid keys and oversized values before they reach the log', async () => {
    const [follower] = await cluster.followers();
    const store = follower!.store;
    await expect(store.set('', 1)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.set('k'.repeat(2000), 1)).rejects.toThrow(/more than 1024/);
    await expect(store.set(42 as unknown as string, 1)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.set('big', 'x'.repeat(5000))).rejects.toBeInstanceOf(ValueTooLargeError);
    expect(await store.has('big')).toBe(false);
    await expect(store.set('sym', Symbol('s') as unknown)).rejects.toThrow(/symbol value cannot be stored/);
    await expect(store.set('fn', (() => 1) as unknown)).rejects.toThrow(/function value cannot be stored/);
    await expect(store.set('undef', undefined)).rejects.toThrow(/undefined value cannot be stored/);
    await expect(store.set('ttl', 1, { ttl: Number.NaN })).rejects.toThrow(/ttl must be a positive integer/);
    await expect(store.set('nested-symbol', { s: Symbol('s') })).rejects.toThrow(/cannot be encoded/);
    expect(await store.has('sym')).toBe(false);
    await store.set('small', 'x'.repeat(1000));
    expect(await store.get('small')).toHaveLength(1000);
  });

  it('applies a retried forwarded write exactly once', async () => {
    const leader = await cluster.leader();
    const [follower] = await cluster.followers();
    await follower!.store.set('visits', 10);
    // The same stamped write sent twice, as a follower does when the leader's reply was lost.
    const data = encodeCommand({
      session: { client: 'retrying-client', seq: 1 },
      command: { op: 'increment', map: '', key: 'visits', delta: 1 },
    });
    const transport = (follower!.runtime.node as unknown as { options: { transport: { request: Function } } })
      .options.transport;
    const first = await transport.request(leader.id, packCommands([data]), 2_000);
    const retry = await transport.request(leader.id, packCommands([data]), 2_000);
    expect(retry).toEqual(first);
    expect(await follower!.store.get('visits')).toBe(11);
  });
});
