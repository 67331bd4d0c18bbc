import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES } from './log.ts';
import { bytes, entriesOfTerms, TestNetwork } from './testing/network.ts';
import type { AppendMessage, Message, RaftTestOnlyBugs } from './index.ts';

const ids3 = ['n1', 'n2', 'n3'];
const ids5 = ['n1', 'n2', 'n3', 'n4', 'n5'];
const isAppend = (m: Message): m is AppendMessage => m.type === 'append';

describe('log replication', () => {
  it('replicates proposals to every node, which apply them in order', () => {
    const net = new TestNetwork(ids3);
    net.campaign('n1');
    for (const text of ['a', 'b', 'c']) net.propose('n1', text);
    net.deliverAll();
    for (const id of ids3) {
      expect(net.raft(id).log.committed).toBe(4);
      expect(net.appliedData(id)).toEqual(['a', 'b', 'c']);
      expect(net.storage.get(id)!.entries.map((e) => e.term)).toEqual([1, 1, 1, 1]);
    }
  });

  it('only the leader takes proposals, and a follower names it', () => {
    const net = new TestNetwork(ids3);
    net.campaign('n1');
    expect(net.raft('n2').propose(bytes('x'))).toEqual({ ok: false, reason: 'not-leader', leader: 'n1' });
  });

  it('commits once a majority stores an entry, not before', () => {
    const net = new TestNetwork(ids5);
    net.campaign('n1');
    for (const id of ['n3', 'n4', 'n5']) net.isolate(id);
    net.propose('n1', 'x');
    net.deliverAll();
    expect(net.raft('n2').log.lastIndex()).toBe(2);
    expect(net.raft('n1').log.committed).toBe(1);

    net.heal();
    net.isolate('n4');
    net.isolate('n5');
    net.tick('n1');
    net.deliverAll();
    expect(net.raft('n1').log.committed).toBe(2);
    expect(net.appliedData('n3')).toEqual(['x']);
  });

  it('a follower that acknowledges after the commit moved hears of it at once, not at the next heartbeat', () => {
    const net = new TestNetwork(ids3);
    net.campaign('n1');
    net.propose('n1', 'x');
    // n2's acknowledgement commits x; n3's arrives after.
    net.deliverUntil(() => net.raft('n1').log.committed === 2);
    net.deliverAll();
    expect(net.raft('n3').log.committed).toBe(2);
  });
});

const termThree = (vote: string | null) => ({ term: 3, vote, commit: 1 });

/**
 * n1 led term 2 and appended entry 2 alone; n3 led term 3 and appended its own entry 2 alone. n1 wins
 * term 4 with n2's vote and replicates its entry 2 to n2 (tiny messages: its no-op follows separately),
 * so a majority stores it; then n1 is lost before its no-op reaches anyone, and n3 wins term 5.
 */
function figure8(testOnlyBugs?: RaftTestOnlyBugs) {
  const net = new TestNetwork(
    ids3,
    { maxMessageBytes: 1, preVote: false, checkQuorum: false, testOnlyBugs },
    {
      n1: { hardState: termThree(null), entries: entriesOfTerms([1, 2]) },
      n2: { hardState: termThree('n3'), entries: entriesOfTerms([1]) },
      n3: { hardState: termThree('n3'), entries: entriesOfTerms([1, 3]) },
    },
  );
  net.crash('n3');
  const n1 = net.raft('n1');
  net.tick('n1', n1.config.electionTicks);
  net.deliverUntil(() => n1.progress.get('n2')?.match === 2);
  expect(n1).toMatchObject({ role: 'leader', term: 4 });
  const committedByCounting = n1.log.committed;
  const appliedByN1 = net.applied.get('n1')!.map((e) => e.term);
  net.crash('n1');
  net.take((m) => m.from === 'n1');

  net.restart('n3');
  for (let i = 0; i < 5 && net.raft('n3').role !== 'leader'; i++) net.campaign('n3');
  expect(net.raft('n3')).toMatchObject({ role: 'leader', term: 5 });
  net.propose('n3', 'after');
  net.deliverAll();
  return { net, committedByCounting, appliedByN1 };
}

describe('commitment only by counting entries of the current term (Raft §5.4.2, Figure 8)', () => {
  it('the correct core does not commit the term-2 entry that a majority stores', () => {
    const { net, committedByCounting, appliedByN1 } = figure8();
    expect(committedByCounting).toBe(1);
    expect(appliedByN1).toEqual([1]);
    // And rightly so: n3 overwrote it, and every node applies the same log.
    net.restart('n1');
    net.tick('n3');
    net.deliverAll();
    for (const id of ids3) expect(net.applied.get(id)!.map((e) => e.term)).toEqual([1, 3, 5, 5]);
  });

  it('with testOnlyBugs.commitPreviousTermEntries it commits and applies it, and n3 then overwrites it', () => {
    const { net, committedByCounting, appliedByN1 } = figure8({ commitPreviousTermEntries: true });
    expect(committedByCounting).toBe(2);
    expect(appliedByN1).toEqual([1, 2]);
    expect(net.applied.get('n2')!.map((e) => e.term)).toEqual([1, 3, 5, 5]);
  });
});

/** `count` entries of `term`, for building logs. */
const run = (term: number, count: number): number[] => Array<number>(count).fill(term);

/** Rejected appends the leader got from `id` before that follower accepted one. */
function rejectionsFrom(net: TestNetwork, id: string): number {
  return net.delivered.filter((m) => m.type === 'append-response' && m.from === id && !m.success).length;
}

describe('conflict resolution with fast backtracking', () => {
  it('a follower with a long divergent tail of several terms catches up after one rejection', () => {
    const net = new TestNetwork(
      ids3,
      { preVote: false },
      {
        n1: {
          hardState: { term: 5, vote: null, commit: 5 },
          entries: entriesOfTerms([...run(1, 5), ...run(5, 60)]),
        },
        n2: {
          hardState: { term: 4, vote: null, commit: 5 },
          entries: entriesOfTerms([...run(1, 5), ...run(2, 20), ...run(3, 20), ...run(4, 20)]),
        },
        n3: {
          hardState: { term: 5, vote: null, commit: 5 },
          entries: entriesOfTerms([...run(1, 5), ...run(5, 60)]),
        },
      },
    );
    net.campaign('n1');
    expect(net.raft('n1').role).toBe('leader');
    expect(rejectionsFrom(net, 'n2')).toBe(1);
    expect(net.raft('n2').log.lastIndex()).toBe(66);
    expect(net.storage.get('n2')!.entries.map((e) => e.term)).toEqual(
      net.storage.get('n1')!.entries.map((e) => e.term),
    );
  });

  it('skips a whole term of the leader per round trip when the follower holds older terms', () => {
    // Leader: 1×5, 2×10, 4×10. Follower: 1×5, 2×10, 3×10. The follower's hint (term 3 at 25) lets the
    // leader skip its term-4 entries at once, to 15, where the logs agree.
    const leaderLog = entriesOfTerms([...run(1, 5), ...run(2, 10), ...run(4, 10)]);
    const net = new TestNetwork(
      ids3,
      { preVote: false },
      {
        n1: { hardState: { term: 4, vote: null, commit: 5 }, entries: leaderLog },
        n2: {
          hardState: { term: 3, vote: null, commit: 5 },
          entries: entriesOfTerms([...run(1, 5), ...run(2, 10), ...run(3, 10)]),
        },
        n3: { hardState: { term: 4, vote: null, commit: 5 }, entries: leaderLog },
      },
    );
    net.campaign('n1');
    expect(rejectionsFrom(net, 'n2')).toBe(1);
    expect(net.raft('n2').log.lastTerm()).toBe(5);
  });

  it('a follower far behind answers with its last index, and the leader jumps there', () => {
    const leaderLog = entriesOfTerms(run(1, 100));
    const net = new TestNetwork(
      ids3,
      { preVote: false },
      {
        n1: { hardState: { term: 1, vote: null, commit: 10 }, entries: leaderLog },
        n2: { hardState: { term: 1, vote: null, commit: 10 }, entries: leaderLog.slice(0, 10) },
        n3: { hardState: { term: 1, vote: null, commit: 10 }, entries: leaderLog },
      },
    );
    net.campaign('n1');
    expect(rejectionsFrom(net, 'n2')).toBe(1);
    expect(net.raft('n2').log.lastIndex()).toBe(101);
  });
});

/** A leader whose followers are in replicate state (they acknowledged its no-op). */
function replicatingLeader(options: { maxInflightMessages?: number; maxMessageBytes?: number }) {
  const net = new TestNetwork(ids3, options);
  net.campaign('n1');
  return net;
}

describe('flow control', () => {
  it('pipelines appends, at most maxInflightMessages per follower before an acknowledgement', () => {
    const net = replicatingLeader({ maxInflightMessages: 3, maxMessageBytes: 1 });
    const n1 = net.raft('n1');
    for (let i = 0; i < 10; i++) n1.propose(bytes(`x${i}`));
    const sent = n1.ready().messages.filter(isAppend);
    expect(sent.filter((m) => m.to === 'n2').map((m) => m.entries.map((e) => e.index))).toEqual([
      [2],
      [3],
      [4],
    ]);
    expect(sent.filter((m) => m.to === 'n3')).toHaveLength(3);

    // One acknowledgement frees one slot of the window.
    n1.step({
      type: 'append-response',
      from: 'n2',
      to: 'n1',
      term: 1,
      success: true,
      index: 2,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(n1.ready().messages.filter(isAppend)).toMatchObject([
      { to: 'n2', prevIndex: 4, entries: [{ index: 5 }] },
    ]);
  });

  it('batches entries up to maxMessageBytes per append; a larger entry goes alone', () => {
    const entryBytes = 30 + ENTRY_OVERHEAD_BYTES;
    const net = replicatingLeader({ maxMessageBytes: 2 * entryBytes + 10 });
    const n1 = net.raft('n1');
    for (let i = 0; i < 5; i++) n1.propose(new Uint8Array(30));
    n1.propose(new Uint8Array(500));
    n1.propose(new Uint8Array(30));
    const toN2 = n1.ready().messages.filter((m): m is AppendMessage => isAppend(m) && m.to === 'n2');
    expect(toN2.map((m) => m.entries.length)).toEqual([2, 2, 1, 1, 1]);
    expect(toN2.map((m) => m.entries.map((e) => e.data.byteLength))).toEqual([
      [30, 30],
      [30, 30],
      [30],
      [500],
      [30],
    ]);
    for (const m of toN2) {
      const size = m.entries.reduce((sum, e) => sum + e.data.byteLength + ENTRY_OVERHEAD_BYTES, 0);
      expect(size <= 2 * entryBytes + 10 || m.entries.length === 1).toBe(true);
    }
  });

  it('everything proposed between two Readies leaves in as few appends as the byte limit allows', () => {
    const net = replicatingLeader({});
    const n1 = net.raft('n1');
    for (let i = 0; i < 50; i++) n1.propose(bytes(`x${i}`));
    const appends = n1.ready().messages.filter(isAppend);
    expect(appends.map((m) => [m.to, m.entries.length])).toEqual([
      ['n2', 50],
      ['n3', 50],
    ]);
  });
});
