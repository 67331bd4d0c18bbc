import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, Message } from '../raft/types.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import type { RaftNode } from './raft-node.ts';
import { NodeCluster } from './testing/node-cluster.ts';

const set = (key: string, value: unknown) => ({ op: 'set', map: '', key, value }) as const;

/**
 * A transport that notes in `events` what its node sends and forwards while `watching()`, and withholds
 * the heartbeats it receives while `withholding()`.
 */
function observed(
  inner: PeerTransport,
  events: string[],
  watching: () => boolean,
  withholding: () => boolean = () => false,
): PeerTransport {
  return {
    start: () => inner.start(),
    stop: () => inner.stop(),
    send(to, message) {
      for (const m of message as Message[]) {
        if (watching() && m.type === 'append-response') events.push(`ack ${m.index}`);
      }
      inner.send(to, message);
    },
    onMessage: (handler) =>
      inner.onMessage((from, body) => {
        const kept = withholding() ? (body as Message[]).filter((m) => m.type !== 'heartbeat') : body;
        handler(from, kept);
      }),
    onRequest: (handler) => inner.onRequest(handler),
    onPeerDown: (handler) => inner.onPeerDown(handler),
    request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T> {
      if (watching() && payload instanceof Uint8Array) events.push('forward');
      return inner.request<T>(to, payload, timeoutMs);
    },
  };
}

/** Notes each command entry `node` applies, in the same list. */
function noteApplies(node: RaftNode, events: string[]): void {
  const apply = node.machine.apply.bind(node.machine);
  node.machine.apply = (entry: Entry, ...rest) => {
    if (entry.kind === 'command') events.push(`apply ${entry.index}`);
    return apply(entry, ...rest);
  };
}

/**
 * What a follower does first when one turn brings it both something to send and entries to apply: at
 * concurrency the writes move in waves, and an apply ahead of a send adds its time to every wave.
 */
describe('RaftNode follower order', () => {
  let cluster: NodeCluster;

  afterEach(async () => {
    await cluster.stopAll();
  });

  it('acknowledges new entries before applying the committed ones that came with them', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const events: string[] = [];
    let withhold = false;
    let watched = '';
    const leader = await cluster.startAll((id) => ({
      wrapTransport: (inner) =>
        observed(
          inner,
          events,
          () => id === watched,
          () => id === watched && withhold,
        ),
    }));
    // Chosen after the election; the wrappers read `watched` on each call.
    watched = [...cluster.nodes.keys()].find((id) => id !== leader.id)!;
    noteApplies(cluster.node(watched), events);
    // Without heartbeats, the commit of the first write reaches the follower only with the second's entry.
    withhold = true;
    await leader.write(set('k1', 1));
    events.length = 0;
    await leader.write(set('k2', 2));

    const first = leader.machine.appliedIndex - 1;
    expect(events).toContain(`apply ${first}`);
    expect(events).toContain(`ack ${first + 1}`);
    expect(events.indexOf(`ack ${first + 1}`)).toBeLessThan(events.indexOf(`apply ${first}`));
  });

  it('forwards the writes its answer resolved before applying the commit that arrived with that answer', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const events: string[] = [];
    let watched = '';
    const leader = await cluster.startAll((id) => ({
      wrapTransport: (inner) => observed(inner, events, () => id === watched),
    }));
    watched = [...cluster.nodes.keys()].find((id) => id !== leader.id)!;
    const follower = cluster.node(watched);
    noteApplies(follower, events);

    // The leader sends the commit (a heartbeat) just before its answer: both reach the follower in one turn.
    await follower.write(set('k1', 1));
    const second = follower.write(set('k2', 2));
    const first = leader.machine.appliedIndex;
    await second;

    expect(events.filter((e) => e === 'forward')).toHaveLength(2);
    expect(events).toContain(`apply ${first}`);
    expect(events.lastIndexOf('forward')).toBeLessThan(events.indexOf(`apply ${first}`));
  });
});
