import { describe, expect, it } from 'vitest';
import { Raft } from './raft.ts';
import { bytes, entriesOfTerms, noJitter, TestNetwork } from './testing/network.ts';
import type { Entry } from './types.ts';

const ids = ['n1', 'n2', 'n3'];

describe('the Ready contract', () => {
  it('hands out a hard state once per change, and nothing when nothing changed', () => {
    const net = new TestNetwork(['n1']);
    const n1 = net.raft('n1');
    for (let i = 0; i < n1.config.electionTicks; i++) n1.tick();
    const first = n1.ready();
    expect(first.hardState).toEqual({ term: 1, vote: 'n1', commit: 1 });
    expect(first.softState).toEqual({ role: 'leader', leader: 'n1', term: 1 });
    expect(n1.hasReady()).toBe(false);
    expect(n1.ready()).toMatchObject({ hardState: null, softState: null, entries: [], committedEntries: [] });
  });

  it('hands out each new entry once, for persisting, and each committed entry once, in order', () => {
    const net = new TestNetwork(ids);
    const persisted = new Map<string, number[]>(ids.map((id) => [id, []]));
    const applied = new Map<string, number[]>(ids.map((id) => [id, []]));
    const drain = () => {
      for (const id of ids) {
        const raft = net.raft(id);
        while (raft.hasReady()) {
          const ready = raft.ready();
          persisted.get(id)!.push(...ready.entries.map((e) => e.index));
          applied.get(id)!.push(...ready.committedEntries.map((e) => e.index));
          net.queue.push(...ready.messages);
        }
      }
    };
    const n1 = net.raft('n1');
    for (let i = 0; i < n1.config.electionTicks; i++) n1.tick();
    for (let round = 0; round < 30; round++) {
      if (n1.role === 'leader') n1.propose(bytes(`x${round}`));
      drain();
      // Deliver half the queue per round, so that Readies interleave with commits.
      for (const m of net.queue.splice(0, Math.ceil(net.queue.length / 2))) net.raft(m.to).step(m);
    }
    for (let i = 0; i < 20; i++) {
      drain();
      for (const m of net.queue.splice(0)) net.raft(m.to).step(m);
      n1.tick();
    }
    const last = n1.log.lastIndex();
    expect(last).toBeGreaterThan(20);
    for (const id of ids) {
      expect(persisted.get(id)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(applied.get(id)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    }
  });

  it('after a conflict, the entries to persist start at the first overwritten index', () => {
    const n2 = new Raft(
      { id: 'n2', voters: ids, random: noJitter },
      { hardState: { term: 2, vote: null, commit: 1 }, entries: entriesOfTerms([1, 2, 2, 2]) },
    );
    const fromLeader: Entry[] = [{ index: 3, term: 3, kind: 'noop', data: new Uint8Array(0) }];
    n2.step({
      type: 'append',
      from: 'n1',
      to: 'n2',
      term: 3,
      prevIndex: 2,
      prevTerm: 2,
      entries: fromLeader,
      commit: 1,
    });
    const ready = n2.ready();
    expect(ready.entries).toEqual(fromLeader);
    expect(ready.messages).toMatchObject([{ type: 'append-response', success: true, index: 3 }]);
    expect(n2.log.lastIndex()).toBe(3);
  });

  it('reports role and leader changes as soft state, once', () => {
    const net = new TestNetwork(ids);
    const n2 = net.raft('n2');
    n2.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0, readRound: 0 });
    expect(n2.ready().softState).toEqual({ role: 'follower', leader: 'n1', term: 1 });
    n2.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0, readRound: 0 });
    expect(n2.ready().softState).toBeNull();
  });
});
