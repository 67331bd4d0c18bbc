import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../state-machine/commands.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import { ForwardBatcher } from './forward-batcher.ts';
import { outcomeOf } from './forward-outcome.ts';
import { systemScheduler, type Scheduler } from './scheduler.ts';

const set: KvCommand = { op: 'set', key: 'k', value: 'v' };

/** A transport whose requests wait until the test answers them; `defer` runs when the test says. */
function harness() {
  const requests: { to: string; answer: (outcomes: unknown) => void }[] = [];
  const transport = {
    request: <T>(to: string) =>
      new Promise<T>((resolve) => requests.push({ to, answer: (o) => resolve(o as T) })),
  } as unknown as PeerTransport;
  const deferred: (() => void)[] = [];
  const scheduler: Scheduler = { ...systemScheduler, defer: (callback) => deferred.push(callback) };
  const flush = () => deferred.splice(0).forEach((callback) => callback());
  return { batcher: new ForwardBatcher(transport, scheduler), requests, flush };
}

const settled = (promise: Promise<unknown>) =>
  promise.then(
    (result) => ({ result }),
    (error: Error) => ({ error: error.message }),
  );

describe('ForwardBatcher', () => {
  it("gives up the batches for a leader that no longer leads, sent or not, and keeps the new leader's", async () => {
    const { batcher, requests, flush } = harness();
    const sent = settled(batcher.forward('old:1', Uint8Array.of(1), set, 1_000));
    flush();
    const unsent = settled(batcher.forward('old:1', Uint8Array.of(2), set, 1_000));
    const kept = settled(batcher.forward('new:1', Uint8Array.of(3), set, 1_000));
    batcher.abandon('new:1', (leader) => new Error(`${leader} no longer leads`));
    expect(await sent).toStrictEqual({ error: 'old:1 no longer leads' });
    expect(await unsent).toStrictEqual({ error: 'old:1 no longer leads' });
    flush();
    // The abandoned batch that had not gone out never does.
    expect(requests.map((r) => r.to)).toStrictEqual(['old:1', 'new:1']);
    // A late answer of the old leader changes nothing.
    requests[0]!.answer([
      outcomeOf({ applied: true, revision: 1, previous: 0, value: 'v', version: 1 }, set),
    ]);
    requests[1]!.answer([
      outcomeOf({ applied: true, revision: 2, previous: 0, value: 'v', version: 1 }, set),
    ]);
    expect(await kept).toMatchObject({ result: { applied: true, revision: 2, value: 'v' } });
  });
});
