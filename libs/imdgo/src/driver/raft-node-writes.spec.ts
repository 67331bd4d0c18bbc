import { afterEach, describe, expect, it } from 'vitest';
import { BusyError, NoLeaderError, RequestTimeoutError } from '../errors.ts';
import { PeerTransportError } from '../transport/peer-transport-error.ts';
import type { Raft } from '../raft/raft.ts';
import type { Entry } from '../raft/types.ts';
import { encodeCommand, type LoggedCommand } from '../state-machine/commands.ts';
import { packCommands } from './forward-block.ts';
import { resultOf } from './forward-outcome.ts';
import type { RaftNode } from './raft-node.ts';
import { NodeCluster, until } from './testing/node-cluster.ts';

/** The driver's private parts a test observes. */
const internals = (node: RaftNode) =>
  node as unknown as {
    raft: Raft;
    proposals: Map<number, unknown>;
    writesInFlight: number;
    receive(from: string, body: unknown): void;
  };

/** Settles with what `promise` settled with, or 'still pending' after `ms`: a hang fails the test. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | Error | 'still pending'> {
  return Promise.race([
    promise.catch((error: Error) => error),
    new Promise<'still pending'>((resolve) => setTimeout(() => resolve('still pending'), ms)),
  ]);
}

const set = (key: string, value: unknown) => ({ op: 'set', map: '', key, value }) as const;

describe('RaftNode writes', () => {
  let cluster: NodeCluster;

  afterEach(async () => {
    await cluster.stopAll();
  });

  it("fails a cut-off leader's own write at the deadline instead of hanging", async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const leader = await cluster.startAll(() => ({ requestTimeoutMs: 500 }));
    cluster.isolate(leader.id);
    const outcome = await settledWithin(leader.write(set('k', 'never committed')), 10_000);
    expect(outcome).toSatisfy((e) => e instanceof RequestTimeoutError || e instanceof NoLeaderError);
    expect(internals(leader).writesInFlight).toBe(0);
    expect(internals(leader).proposals.size).toBe(0);
  });

  it("settles a deposed leader's write whose index an installed snapshot covers", async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const leftBehind: number[][] = [];
    const old = await cluster.startAll((id) => ({
      // Attempts last two election timeouts (2 s): far longer than the install takes here.
      electionTicks: 200,
      snapshotThreshold: 20,
      snapshotTrailingEntries: 0,
      observer: {
        writeCompleted() {},
        entriesApplied() {},
        forwardedWriteServed() {},
        readIndexRound() {},
        leaderChanged() {},
        snapshotTransferred(direction) {
          if (direction !== 'installed') return;
          const node = cluster.node(id);
          const covered = internals(node).raft.latestSnapshot!.index;
          // After this turn's microtasks: what is still waiting for an index the snapshot replaced.
          setImmediate(() =>
            leftBehind.push([...internals(node).proposals.keys()].filter((i) => i <= covered)),
          );
        },
      },
    }));
    // Equal logs, so that the node told to take over can win the election.
    await cluster.caughtUp();
    cluster.isolate(old.id);
    const lastIndex = internals(old).raft.status().lastIndex;
    const write = old.write(set('k', 'from the old leader'));
    await until(() => internals(old).raft.status().lastIndex > lastIndex, 'the old leader appends the write');
    const others = [...cluster.nodes.values()].filter((n) => n !== old);
    // A transfer the old leader started just before the cut: the other side elects a leader at once.
    const timeoutNow = {
      type: 'timeout-now',
      from: old.id,
      to: others[0]!.id,
      term: internals(old).raft.term,
    };
    (others[0] as unknown as { receive: (from: string, body: unknown) => void }).receive(old.id, [
      timeoutNow,
    ]);
    await until(() => others.some((n) => n.isLeader()), 'a new leader');
    // Writes through either remaining node go to the new leader, which compacts past the old one's entry.
    for (let i = 0; i < 60; i++) await others[0]!.write(set(`n${i}`, i));
    cluster.hub.heal();
    const result = await settledWithin(write, 40_000);
    expect(result).not.toBe('still pending');
    expect(result).not.toBeInstanceOf(Error);
    expect(leftBehind.length).toBeGreaterThan(0);
    expect(leftBehind.flat()).toEqual([]);
    expect(internals(old).writesInFlight).toBe(0);
    await until(() => old.machine.get('', 'k')?.value === 'from the old leader', 'k replicated');
  });

  // Its waiter used to be overwritten by the new proposal at the same index, and the write never settled.
  it("settles a deposed leader's write whose index it proposes at again once it leads anew", async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    // Attempts last two election timeouts (2 s), so the writes still wait when a leads again.
    const a = await cluster.startAll(() => ({ electionTicks: 200, requestTimeoutMs: 5_000 }));
    await cluster.caughtUp();
    const [b, c] = [...cluster.nodes.values()].filter((node) => node !== a) as [RaftNode, RaftNode];
    const last = internals(a).raft.status().lastIndex;
    const firstTerm = internals(a).raft.term;
    cluster.isolate(a.id);
    const writes = [a.write(set('w1', 1)), a.write(set('w2', 2)), a.write(set('w3', 3))];
    await until(() => internals(a).raft.status().lastIndex === last + 3, 'a appends its three writes');
    // b takes over (as after a transfer a started just before the cut), c voting for it.
    internals(b).receive(a.id, [{ type: 'timeout-now', from: a.id, to: b.id, term: firstTerm }]);
    await until(() => b.isLeader() && b.machine.appliedIndex === last + 1, 'b leads, its no-op applied');
    // Only a and b talk: a follows b, its log cut back to b's no-op, its waiters for the two after it left.
    cluster.hub.heal();
    cluster.hub.disconnect(a.id, c.id);
    cluster.hub.disconnect(b.id, c.id);
    await until(
      () => internals(a).raft.term === firstTerm + 1 && internals(a).raft.status().lastIndex === last + 1,
      "a follows b, its log cut back to b's no-op",
    );
    // a leads again: its no-op and a new write take the indexes its second and third writes had.
    cluster.hub.heal();
    cluster.isolate(b.id);
    internals(a).receive(b.id, [{ type: 'timeout-now', from: b.id, to: a.id, term: firstTerm + 1 }]);
    await until(() => a.isLeader(), 'a leads again');
    const later = c.write(set('later', 1));
    const outcomes = await Promise.all(writes.map((write) => settledWithin(write, 10_000)));
    expect(outcomes).not.toContain('still pending');
    expect(await settledWithin(later, 10_000)).toMatchObject({ applied: true });
    expect(internals(a).writesInFlight).toBe(0);
  }, 30_000);

  it('does not call a retried write that met an overloaded leader BusyError: its first attempt may apply', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    let forwards = 0;
    let follower = '';
    const leader = await cluster.startAll((id) => ({
      wrapTransport: (inner) => ({
        start: () => inner.start(),
        stop: () => inner.stop(),
        send: (to, message) => inner.send(to, message),
        onMessage: (handler) => inner.onMessage(handler),
        onRequest: (handler) => inner.onRequest(handler),
        onPeerDown: (handler) => inner.onPeerDown(handler),
        async request<T>(to: string, payload: unknown, timeoutMs: number): Promise<T> {
          if (id !== follower || !(payload instanceof Uint8Array)) {
            return inner.request<T>(to, payload, timeoutMs);
          }
          forwards++;
          if (forwards === 1) {
            // Delivered and applied, but the reply is lost.
            await inner.request(to, payload, timeoutMs);
            throw new PeerTransportError('timeout', to, `request to ${to} timed out`);
          }
          if (forwards === 2) return [new BusyError(1000).message] as T;
          return inner.request<T>(to, payload, timeoutMs);
        },
      }),
    }));
    follower = [...cluster.nodes.keys()].find((id) => id !== leader.id)!;
    const outcome = await cluster
      .node(follower)
      .write(set('k', 'once'))
      .catch((error: Error) => error);
    expect(outcome).not.toBeInstanceOf(BusyError);
    expect(outcome).toMatchObject({ applied: true });
    expect(forwards).toBe(3);
    const sets = cluster.changes.get(leader.id)!.filter((change) => change.key === 'k');
    expect(sets).toHaveLength(1);
  });

  it('applies a forwarded write on the leader with the command it parsed to check it, not parsing it again', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const leader = await cluster.startAll();
    const follower = [...cluster.nodes.values()].find((node) => node !== leader)!;
    const handed: { node: string; parsed: LoggedCommand | undefined }[] = [];
    for (const node of [leader, follower]) {
      const apply = node.machine.apply.bind(node.machine);
      node.machine.apply = (entry: Entry, parsed?: LoggedCommand) => {
        if (entry.kind === 'command') handed.push({ node: node.id, parsed });
        return apply(entry, parsed);
      };
    }
    const result = await follower.write(set('k', 'forwarded'));
    await until(() => follower.machine.get('', 'k') !== undefined, 'the follower applies it too');
    expect(result).toMatchObject({ applied: true, value: 'forwarded' });
    expect(handed.find((h) => h.node === leader.id)?.parsed?.command).toStrictEqual(set('k', 'forwarded'));
    // A follower has only the entry's bytes.
    expect(handed.find((h) => h.node === follower.id)?.parsed).toBeUndefined();
  });

  it('answers a forwarded batch in order, each command on its own: applied, malformed, or over the limit', async () => {
    cluster = new NodeCluster(['a:1', 'b:1', 'c:1']);
    const leader = await cluster.startAll(() => ({ maxPendingWrites: 2 }));
    const command = (key: string, seq: number) =>
      encodeCommand({ session: { client: 'c', seq }, command: set(key, key) });
    const batch = packCommands([command('k1', 1), Uint8Array.of(0xc1), command('k2', 2), command('k3', 3)]);
    const answer = (leader as unknown as { answer: (from: string, payload: unknown) => Promise<unknown[]> })
      .answer;
    const outcomes = await answer.call(leader, 'b:1', batch);
    expect(outcomes).toHaveLength(4);
    expect(resultOf(outcomes[0], set('k1', 'k1'))).toMatchObject({ applied: true, value: 'k1' });
    expect(outcomes[1]).toMatch(/^refused a forwarded write/);
    expect(resultOf(outcomes[2], set('k2', 'k2'))).toMatchObject({ applied: true, value: 'k2' });
    expect(outcomes[3]).toBe(new BusyError(2).message);
    expect(leader.machine.get('', 'k3')).toBeUndefined();
  });
});
