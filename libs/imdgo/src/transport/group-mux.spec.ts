import { describe, expect, it } from 'vitest';
import type { Scheduler } from '../driver/scheduler.ts';
import { GroupMux } from './group-mux.ts';
import type { PeerTransport } from './peer-transport.ts';

/** Runs deferred callbacks only when the test says a turn is over. */
class ManualTurns implements Scheduler {
  private deferred: (() => void)[] = [];
  time = 0;
  now = () => this.time;
  monotonic = () => 0;
  setTimeout = () => ({});
  clearTimeout = () => {};
  setInterval = () => ({});
  clearInterval = () => {};
  defer(callback: () => void): void {
    this.deferred.push(callback);
  }
  endTurn(): void {
    const due = this.deferred;
    this.deferred = [];
    for (const callback of due) callback();
  }
}

/** Records what is sent; the test plays the remote side by calling the handlers. */
class RecordingTransport implements PeerTransport {
  readonly sent: { to: string; frame: unknown }[] = [];
  readonly requests: { to: string; payload: unknown }[] = [];
  retained: readonly string[] | null = null;
  message: ((from: string, message: unknown) => void) | null = null;
  requestHandler: ((from: string, payload: unknown) => Promise<unknown>) | null = null;
  peerDown: ((peer: string) => void) | null = null;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  send(to: string, frame: unknown): void {
    this.sent.push({ to, frame });
  }
  request<T>(to: string, payload: unknown): Promise<T> {
    this.requests.push({ to, payload });
    return Promise.resolve('ok' as T);
  }
  onMessage(handler: (from: string, message: unknown) => void): void {
    this.message = handler;
  }
  onRequest(handler: (from: string, payload: unknown) => Promise<unknown>): void {
    this.requestHandler = handler;
  }
  onPeerDown(handler: (peer: string) => void): void {
    this.peerDown = handler;
  }
  retain(members: readonly string[]): void {
    this.retained = members;
  }
}

const heartbeat = (to: string) => ({ type: 'heartbeat', from: 'a:1', to, term: 1, commit: 0, readRound: 0 });

function setUp() {
  const turns = new ManualTurns();
  const transport = new RecordingTransport();
  const mux = new GroupMux(transport, turns);
  return { turns, transport, mux };
}

/** A group's channel with what it received. */
function listen(mux: GroupMux, group: number) {
  const channel = mux.channel(group);
  const received: unknown[][] = [];
  channel.onMessage((_from, batch) => received.push(batch as unknown[]));
  return { channel, received };
}

describe('GroupMux', () => {
  it('sends what every group has for one destination in one turn as one frame', () => {
    const { turns, transport, mux } = setUp();
    const zero = mux.channel(0);
    const five = mux.channel(5);
    zero.send('b:1', [heartbeat('b:1')]);
    five.send('b:1', [heartbeat('b:1'), heartbeat('b:1')]);
    five.send('c:1', [heartbeat('c:1')]);
    zero.send('b:1', [heartbeat('b:1')]);
    expect(transport.sent).toEqual([]);
    turns.endTurn();
    expect(transport.sent).toEqual([
      {
        to: 'b:1',
        frame: [
          heartbeat('b:1'),
          { ...heartbeat('b:1'), group: 5 },
          { ...heartbeat('b:1'), group: 5 },
          heartbeat('b:1'),
        ],
      },
      { to: 'c:1', frame: [{ ...heartbeat('c:1'), group: 5 }] },
    ]);
    expect(mux.counters()).toMatchObject({ framesSent: 2, messagesSent: 5 });
    turns.endTurn();
    expect(transport.sent).toHaveLength(2);
  });

  it("keeps group 0's frames and requests exactly as a lone node sends them", async () => {
    const { turns, transport, mux } = setUp();
    const zero = mux.channel(0);
    const batch = [heartbeat('b:1')];
    zero.send('b:1', batch);
    turns.endTurn();
    expect(transport.sent).toEqual([{ to: 'b:1', frame: batch }]);
    await zero.request('b:1', { kind: 'status' }, 100);
    expect(transport.requests).toEqual([{ to: 'b:1', payload: { kind: 'status' } }]);
  });

  it('routes each message of a frame to its group, untagged ones to group 0', () => {
    const { transport, mux } = setUp();
    const zero = listen(mux, 0);
    const seven = listen(mux, 7);
    const frame = [heartbeat('a:1'), { ...heartbeat('a:1'), group: 7 }, { ...heartbeat('a:1'), group: 0 }];
    transport.message!('b:1', frame);
    expect(zero.received).toEqual([[frame[0], frame[2]]]);
    expect(seven.received).toEqual([[frame[1]]]);
  });

  it('refuses messages for a group it does not host and still delivers the rest of the frame', () => {
    const { transport, mux } = setUp();
    const zero = listen(mux, 0);
    const frame = [{ ...heartbeat('a:1'), group: 9 }, heartbeat('a:1'), { ...heartbeat('a:1'), group: 9 }];
    expect(() => transport.message!('b:1', frame)).not.toThrow();
    expect(zero.received).toEqual([[frame[1]]]);
    expect(mux.counters().refusedMessages).toBe(2);
  });

  it('refuses messages for a group once it stopped', async () => {
    const { transport, mux } = setUp();
    const three = listen(mux, 3);
    await three.channel.stop();
    transport.message!('b:1', [{ ...heartbeat('a:1'), group: 3 }]);
    expect(three.received).toEqual([]);
    expect(mux.counters().refusedMessages).toBe(1);
    expect(mux.groups).toEqual([]);
  });

  it('treats a malformed group id as a malformed frame', () => {
    const { transport, mux } = setUp();
    const zero = listen(mux, 0);
    for (const group of [-1, 1.5, '2', 2 ** 40]) {
      expect(() => transport.message!('b:1', [{ ...heartbeat('a:1'), group }])).toThrow(/malformed group id/);
    }
    expect(() => transport.message!('b:1', { not: 'a frame' })).toThrow(/malformed Raft frame/);
    expect(zero.received).toEqual([]);
  });

  it("passes one group's failure on to the transport after delivering the other groups' messages", () => {
    const { transport, mux } = setUp();
    mux.channel(0).onMessage(() => {
      throw new Error('bad message for group 0');
    });
    const two = listen(mux, 2);
    expect(() => transport.message!('b:1', [heartbeat('a:1'), { ...heartbeat('a:1'), group: 2 }])).toThrow(
      'bad message for group 0',
    );
    expect(two.received).toHaveLength(1);
  });

  it('routes requests by group and refuses those for a group it does not host', async () => {
    const { transport, mux } = setUp();
    const four = mux.channel(4);
    four.onRequest(async (from, payload) => ({ from, payload, group: 4 }));
    await four.request('b:1', { kind: 'status' }, 100);
    const wrapped = transport.requests[0]!.payload;
    expect(wrapped).toEqual({ kind: 'group', group: 4, body: { kind: 'status' } });
    await expect(transport.requestHandler!('b:1', wrapped)).resolves.toEqual({
      from: 'b:1',
      payload: { kind: 'status' },
      group: 4,
    });
    await expect(transport.requestHandler!('b:1', { kind: 'group', group: 8, body: {} })).rejects.toThrow(
      'unknown group 8',
    );
    await expect(transport.requestHandler!('b:1', { kind: 'status' })).rejects.toThrow('unknown group 0');
  });

  it('tells every group of a peer going down', () => {
    const { transport, mux } = setUp();
    const down: string[] = [];
    mux.channel(0).onPeerDown((peer) => down.push(`0 ${peer}`));
    mux.channel(1).onPeerDown((peer) => down.push(`1 ${peer}`));
    transport.peerDown!('c:1');
    expect(down).toEqual(['0 c:1', '1 c:1']);
  });

  it('keeps the links every group needs, only once every group said which', () => {
    const { transport, mux } = setUp();
    const one = mux.channel(1);
    const two = mux.channel(2);
    one.retain!(['a:1', 'b:1']);
    expect(transport.retained).toBeNull();
    two.retain!(['a:1', 'c:1']);
    expect(new Set(transport.retained)).toEqual(new Set(['a:1', 'b:1', 'c:1']));
  });

  it('beats every peer that got no frame since the last beat, and reports one silent for too long once', () => {
    const { turns, transport, mux } = setUp();
    const down: string[] = [];
    const zero = mux.channel(0);
    zero.onPeerDown((peer) => down.push(peer));
    zero.send('b:1', [heartbeat('b:1')]);
    zero.send('c:1', [heartbeat('c:1')]);
    turns.endTurn();
    transport.sent.length = 0;
    mux.beat(1000);
    // Both just got a frame: no beat needed yet.
    expect(transport.sent).toEqual([]);
    turns.time = 600;
    transport.message!('b:1', []);
    zero.send('c:1', [heartbeat('c:1')]);
    turns.endTurn();
    transport.sent.length = 0;
    mux.beat(1000);
    expect(transport.sent).toEqual([{ to: 'b:1', frame: [] }]);
    expect(down).toEqual([]);
    turns.time = 1001;
    mux.beat(1000);
    // c:1 was never heard from in over 1000 ms; b:1 was, at 600.
    expect(down).toEqual(['c:1']);
    mux.beat(1000);
    expect(down).toEqual(['c:1']);
    transport.message!('c:1', []);
    turns.time = 2100;
    mux.beat(1000);
    expect(down).toEqual(['c:1', 'b:1', 'c:1']);
  });

  it('forgets the liveness of peers no group keeps', () => {
    const { turns, transport, mux } = setUp();
    const down: string[] = [];
    const zero = mux.channel(0);
    zero.onPeerDown((peer) => down.push(peer));
    zero.send('b:1', [heartbeat('b:1')]);
    turns.endTurn();
    zero.retain!(['a:1']);
    transport.sent.length = 0;
    turns.time = 5000;
    mux.beat(1000);
    expect(transport.sent).toEqual([]);
    expect(down).toEqual([]);
  });

  it('gives each group one channel and refuses bad group ids', () => {
    const { mux } = setUp();
    mux.channel(1);
    expect(() => mux.channel(1)).toThrow('group 1 already has a channel');
    expect(() => mux.channel(-1)).toThrow(/a group id is an integer/);
  });
});
