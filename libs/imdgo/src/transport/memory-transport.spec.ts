import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemoryHub, MemoryTransport } from './memory-transport.ts';
import type { PeerTransportError } from './peer-transport-error.ts';

async function cluster(...ids: string[]): Promise<{ hub: MemoryHub; nodes: MemoryTransport[] }> {
  const hub = new MemoryHub();
  const nodes = ids.map((id) => new MemoryTransport(hub, id));
  await Promise.all(nodes.map((node) => node.start()));
  return { hub, nodes };
}

const codeOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'resolved',
    (error: PeerTransportError) => error.code,
  );

describe('MemoryTransport', () => {
  it('delivers asynchronously, with the sender id and a copy of the message', async () => {
    const {
      nodes: [a, b],
    } = await cluster('a', 'b');
    const received: Array<[string, unknown]> = [];
    b!.onMessage((from, message) => received.push([from, message]));
    const message = { at: new Date(1), blob: Buffer.from([1]) };
    a!.send('b', message);
    expect(received).toEqual([]);
    await expect.poll(() => received.length).toBe(1);
    expect(received[0]).toStrictEqual(['a', message]);
    expect(received[0]![1]).not.toBe(message);
  });

  it('answers requests and reports remote errors and timeouts', async () => {
    const {
      nodes: [a, b],
    } = await cluster('a', 'b');
    b!.onRequest(async (from, payload) => {
      if (payload === 'fail') {
        throw new Error('no leader');
      }
      if (payload === 'hang') {
        await sleep(1_000);
      }
      return { from, payload };
    });
    expect(await a!.request('b', 1n, 100)).toStrictEqual({ from: 'a', payload: 1n });
    await expect(a!.request('b', 'fail', 100)).rejects.toMatchObject({
      code: 'remote',
      message: 'no leader',
    });
    expect(await codeOf(a!.request('b', 'hang', 50))).toBe('timeout');
  });

  it('drops traffic across a cut link until healed, and fails fast towards a stopped member', async () => {
    const {
      hub,
      nodes: [a, b, c],
    } = await cluster('a', 'b', 'c');
    const atB: unknown[] = [];
    b!.onMessage((_, message) => atB.push(message));
    b!.onRequest(async () => 'ok');
    hub.disconnect('a', 'b');
    a!.send('b', 'lost');
    c!.send('b', 'kept');
    expect(await codeOf(a!.request('b', 1, 50))).toBe('timeout');
    expect(atB).toEqual(['kept']);

    hub.heal();
    a!.send('b', 'healed');
    await expect.poll(() => atB).toEqual(['kept', 'healed']);

    await b!.stop();
    expect(await codeOf(a!.request('b', 1, 1_000))).toBe('unavailable');
    expect(() => a!.send('b', 'nobody')).not.toThrow();
  });

  it('rejects its pending requests on stop', async () => {
    const {
      nodes: [a, b],
    } = await cluster('a', 'b');
    b!.onRequest(() => sleep(1_000));
    const pending = codeOf(a!.request('b', 1, 5_000));
    await a!.stop();
    expect(await pending).toBe('stopped');
  });
});
