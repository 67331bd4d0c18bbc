import { describe, expect, it } from 'vitest';
import { bytes, TestNetwork } from './testing/network.ts';
import type { Message } from './types.ts';

const ids = ['n1', 'n2', 'n3'];

function cluster() {
  const net = new TestNetwork(ids);
  net.campaign('n1');
  return net;
}

describe('leadership transfer', () => {
  it('hands over to a caught-up follower at once with TimeoutNow, despite the others’ lease', () => {
    const net = cluster();
    expect(net.raft('n1').transferLeadership('n2')).toEqual({ ok: true });
    net.flush();
    expect(net.queue).toMatchObject([{ type: 'timeout-now', to: 'n2' }]);
    net.deliverAll();
    expect(net.raft('n2')).toMatchObject({ role: 'leader', term: 2 });
    expect(net.raft('n1')).toMatchObject({ role: 'follower', term: 2, leader: 'n2' });
    expect(net.delivered.filter((m) => m.type === 'vote' && m.from === 'n2')).toMatchObject([
      { transfer: true },
      { transfer: true },
    ]);
  });

  it('brings a lagging target up to date first, and only then sends TimeoutNow', () => {
    const net = cluster();
    net.isolate('n3');
    net.propose('n1', 'a');
    net.propose('n1', 'b');
    net.deliverAll();
    net.heal();
    net.raft('n1').transferLeadership('n3');
    // The appends n3 missed are found lost at the next heartbeat; then n3 catches up.
    net.tick('n1');
    net.deliverAll();
    const toN3 = net.delivered.filter((m) => m.from === 'n1' && m.to === 'n3').map((m: Message) => m.type);
    expect(toN3.indexOf('timeout-now')).toBeGreaterThan(toN3.lastIndexOf('append'));
    expect(net.raft('n3')).toMatchObject({ role: 'leader', term: 2 });
    expect(net.appliedData('n3')).toEqual(['a', 'b']);
  });

  it('refuses proposals while transferring, and gives up after an election timeout', () => {
    const net = cluster();
    const n1 = net.raft('n1');
    net.isolate('n3');
    n1.transferLeadership('n3');
    expect(n1.propose(bytes('x'))).toEqual({ ok: false, reason: 'transferring', leader: 'n1' });

    for (let i = 0; i < n1.config.electionTicks; i++) {
      net.tick('n1');
      net.deliverAll();
    }
    expect(n1).toMatchObject({ role: 'leader', leadTransferee: null });
    expect(n1.propose(bytes('x')).ok).toBe(true);
  });

  it('only a leader transfers, and only to a member', () => {
    const net = cluster();
    expect(net.raft('n2').transferLeadership('n3')).toEqual({
      ok: false,
      reason: 'not-leader',
      leader: 'n1',
    });
    expect(net.raft('n1').transferLeadership('n9')).toMatchObject({ ok: false, reason: 'unknown-member' });
    expect(net.raft('n1').transferLeadership('n1')).toEqual({ ok: true });
    expect(net.raft('n1').leadTransferee).toBeNull();
  });
});

/** n1 leads; n3 restarted without memory and answers as a process the configuration does not seat. */
function rejoiningFollower() {
  const net = cluster();
  net.propose('n1', 'x');
  net.deliverAll();
  net.restartWithoutMemory('n3', 'n3.2');
  net.tick('n1');
  net.deliverAll();
  return net;
}

describe('the transfer target is an admitted voter', () => {
  it('refuses a voter whose process is not readmitted', () => {
    const net = rejoiningFollower();
    expect(net.raft('n1').transferLeadership('n3')).toMatchObject({
      ok: false,
      reason: 'not-admitted-voter',
    });
  });

  it('picks the most caught-up admitted voter, never the rejoining one', () => {
    const net = rejoiningFollower();
    const n1 = net.raft('n1');
    // n3 now holds the whole log and n2 misses the newest entry: n3 is still no candidate.
    net.dropIf((m) => m.to === 'n2');
    net.propose('n1', 'y');
    net.deliverAll();
    expect(n1.status().progress.get('n3')!.match).toBeGreaterThan(n1.status().progress.get('n2')!.match);
    expect(n1.transferCandidate()).toBe('n2');
  });

  it('refuses a learner', () => {
    const net = cluster();
    net.propose('n1', 'x');
    net.deliverAll();
    const n1 = net.raft('n1');
    expect(n1.proposeConfigChange({ type: 'remove', id: 'n3' })).toMatchObject({ ok: true });
    net.deliverAll();
    expect(n1.proposeConfigChange({ type: 'add-learner', id: 'n4' })).toMatchObject({ ok: true });
    net.deliverAll();
    expect(n1.transferLeadership('n4')).toMatchObject({ ok: false, reason: 'not-admitted-voter' });
    expect(n1.transferCandidate()).toBe('n2');
  });
});
