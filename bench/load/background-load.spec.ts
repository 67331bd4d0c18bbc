import { describe, expect, it } from 'vitest';
import { BackgroundLoad, REMEMBERED_MS } from './background-load.ts';
import { monotonicMs } from './clock.ts';

/** Operations that settle when the test says so, one queue per writer. */
function gatedWriters(count: number) {
  const pending: ((ok: boolean) => void)[][] = Array.from({ length: count }, () => []);
  const operationOf = (writer: number) => () =>
    new Promise<void>((resolve, reject) => {
      pending[writer]!.push((ok) => (ok ? resolve() : reject(new Error('refused'))));
    });
  /** Settles the oldest pending operation of `writer`, once it has one. */
  const settle = async (writer: number, ok: boolean): Promise<void> => {
    while (pending[writer]!.length === 0) await Promise.resolve();
    pending[writer]!.shift()!(ok);
  };
  return { operationOf, settle };
}

describe('BackgroundLoad.firstSuccessesAfter', () => {
  it('waits for every writer and reports each one’s first success after the fault', async () => {
    const { operationOf, settle } = gatedWriters(2);
    const load = new BackgroundLoad(operationOf, 2);
    const fault = monotonicMs();
    const answer = load.firstSuccessesAfter(fault, 60_000);
    await settle(0, false); // writer 0's write in flight at the fault fails,
    await settle(0, true); // its next one succeeds,
    await settle(1, true); // writer 1's first (issued before the fault) does not count,
    await settle(1, true); // its next one does.
    const [first, second] = await answer;
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(second!).toBeGreaterThanOrEqual(first!);
    for (const writer of [0, 1]) void settle(writer, true);
    await load.stop();
  });

  it('reports null for a writer with no success by the timeout', async () => {
    const { operationOf, settle } = gatedWriters(2);
    const load = new BackgroundLoad(operationOf, 2);
    await Promise.resolve();
    const after = monotonicMs();
    await settle(1, true); // issued before `after`: not counted.
    await settle(1, true);
    const [stuck, served] = await load.firstSuccessesAfter(after, 50);
    expect(stuck).toBeNull();
    expect(served).not.toBeNull();
    const stopping = load.stop();
    await settle(0, true);
    await settle(1, true);
    await stopping;
  });
});

describe('BackgroundLoad memory', () => {
  it('forgets successes older than it is asked about, so a long run does not grow the heap', async () => {
    let now = 0;
    let done = 0;
    let reached: (() => void) | null = null;
    const lastOfRun = new Promise<void>((resolve) => (reached = resolve));
    const runSeconds = 5 * (REMEMBERED_MS / 1000);
    // One write a second of the fake clock, each settling on a later turn of the event loop.
    const load = new BackgroundLoad(
      () => () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            now += 1000;
            if (++done === runSeconds) reached?.();
            resolve();
          }),
        ),
      1,
      () => now,
    );
    await lastOfRun;
    await expect(load.firstSuccessesAfter(0, 0)).rejects.toThrow(/forgotten/);
    const recent = now - REMEMBERED_MS / 2;
    const [first] = await load.firstSuccessesAfter(recent, 0);
    expect(first).toBe(recent + 1000);
    await load.stop();
  });
});
