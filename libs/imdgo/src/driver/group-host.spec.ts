import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { Raft } from '../raft/raft.ts';
import { SeededRandom } from '../raft/random.ts';
import { MemoryStorage } from '../storage/memory-storage.ts';
import { MemoryHub, MemoryTransport } from '../transport/memory-transport.ts';
import { GroupHost, type GroupNodeOptions } from './group-host.ts';
import { until } from './testing/node-cluster.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];
const set = (key: string, value: unknown) => ({ op: 'set', map: '', key, value }) as const;

if (!process.env.IMDGO_TEST_LOGS) Logger.overrideLogger(false);

/** Three nodes, one GroupHost each on one MemoryHub. */
class HostCluster {
  readonly hub = new MemoryHub();
  readonly hosts = new Map<string, GroupHost>();

  async start(): Promise<void> {
    for (const id of MEMBERS) {
      const transport = new MemoryTransport(this.hub, id);
      // At test timing (5 ms ticks, 50 ms election timeout) as at default timing.
      const host = new GroupHost({ transport, beatMs: 5, peerTimeoutMs: 50 });
      this.hosts.set(id, host);
      await host.start();
    }
  }

  host(id: string): GroupHost {
    return this.hosts.get(id)!;
  }

  async createGroup(group: number, on: readonly string[] = MEMBERS): Promise<void> {
    for (const id of on) await this.host(id).createGroup(group, nodeOptions(id, group));
  }

  /** The node leading `group` (among the hosts running it), or undefined. */
  leader(group: number) {
    const leaders = [...this.hosts.values()].flatMap((h) => h.group(group) ?? []).filter((n) => n.isLeader());
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  async elected(group: number): Promise<string> {
    await until(
      () =>
        this.leader(group)
          ?.localStatus()
          .members.filter((m) => m.voter).length === MEMBERS.length,
      `group ${group} led with every member a voter`,
    );
    return this.leader(group)!.id;
  }

  async stop(): Promise<void> {
    for (const host of this.hosts.values()) await host.stop();
  }

  /** Whether every replica of `group` has gone quiet. */
  quiet(group: number): boolean {
    return [...this.hosts.values()].every((h) => {
      const node = h.group(group);
      return node === undefined || (node as unknown as { raft: Raft }).raft.quiesced;
    });
  }
}

function nodeOptions(id: string, group: number): GroupNodeOptions {
  return {
    id,
    members: MEMBERS,
    incarnation: `${id}-${group}-${Math.random()}`,
    snapshotThreshold: 1000,
    storeLimit: null,
    maxPendingWrites: 1000,
    storage: new MemoryStorage(),
    tickMs: 5,
    electionTicks: 10,
    heartbeatTicks: 1,
    requestTimeoutMs: 30_000,
    random: new SeededRandom(MEMBERS.indexOf(id) + 1 + group * 10),
    onChange: () => {},
  };
}

describe('GroupHost', () => {
  let cluster: HostCluster;

  afterEach(async () => {
    await cluster.stop();
  });

  it('runs groups that elect their leaders independently', async () => {
    cluster = new HostCluster();
    await cluster.start();
    for (const group of [0, 1, 2]) await cluster.createGroup(group);
    for (const group of [0, 1, 2]) await cluster.elected(group);
    // Spread the leaderships: group g led by member g.
    for (const group of [0, 1, 2]) await cluster.leader(group)!.transferLeadership(MEMBERS[group]!);
    for (const group of [0, 1, 2]) expect(await cluster.elected(group)).toBe(MEMBERS[group]);

    // Group 1 loses its leader's replica; it elects another while groups 0 and 2 keep theirs, same term.
    // b:1 still answers for its other groups, so a quiet follower of group 1 learns of the loss only when
    // something wakes it: here a read, which then waits for the new leader.
    const terms = [0, 2].map((g) => cluster.leader(g)!.localStatus().term);
    await cluster.host('b:1').destroyGroup(1);
    await cluster.host('c:1').group(1)!.linearizableBarrier();
    expect(cluster.leader(1)!.id).not.toBe('b:1');
    expect([0, 2].map((g) => cluster.leader(g)!.id)).toEqual(['a:1', 'c:1']);
    expect([0, 2].map((g) => cluster.leader(g)!.localStatus().term)).toEqual(terms);
  });

  it('commits writes to each group in that group alone, and one group without quorum stops no other', async () => {
    cluster = new HostCluster();
    await cluster.start();
    for (const group of [1, 2]) await cluster.createGroup(group);
    for (const group of [1, 2]) await cluster.elected(group);
    const one = await cluster.leader(1)!.write(set('k', 'in group 1'));
    const two = await cluster.leader(2)!.write(set('k', 'in group 2'));
    // Revisions are per group: each group's first write has the same revision.
    expect(two.revision).toBe(one.revision);
    for (const id of MEMBERS) {
      await until(
        () =>
          cluster.host(id).group(1)!.machine.get('', 'k')?.value === 'in group 1' &&
          cluster.host(id).group(2)!.machine.get('', 'k')?.value === 'in group 2',
        `both writes applied on ${id}`,
      );
    }

    // Group 2 loses two of its three replicas: it cannot commit, group 1 still does.
    const survivor = cluster.leader(2)!.id;
    for (const id of MEMBERS) if (id !== survivor) await cluster.host(id).destroyGroup(2);
    const written = await cluster.leader(1)!.write(set('k', 'again in group 1'));
    expect(written.applied).toBe(true);
    expect(cluster.host(survivor).group(2)!.machine.get('', 'k')?.value).toBe('in group 2');
  });

  it('refuses a frame for a group it does not host, and its groups go on', async () => {
    cluster = new HostCluster();
    await cluster.start();
    await cluster.createGroup(1);
    const leader = await cluster.elected(1);
    const follower = MEMBERS.find((id) => id !== leader)!;
    const before = cluster.host(follower).transportStats().refusedMessages;
    // A well-formed heartbeat for group 9, as a peer that hosts it would send it.
    const forged = new MemoryTransport(cluster.hub, 'x:1');
    await forged.start();
    forged.send(follower, [
      { type: 'heartbeat', from: 'x:1', to: follower, term: 1, commit: 0, readRound: 0, group: 9 },
    ]);
    await until(() => cluster.host(follower).transportStats().refusedMessages === before + 1, 'refused');
    await forged.stop();
    expect(cluster.host(follower).groups).toEqual([1]);
    await cluster.leader(1)!.write(set('k', 'still writable'));
    await until(
      () => cluster.host(follower).group(1)!.machine.get('', 'k')?.value === 'still writable',
      'the follower applies the write',
    );
  });

  it('forwards a follower write to its group leader and answers requests for unknown groups with an error', async () => {
    cluster = new HostCluster();
    await cluster.start();
    await cluster.createGroup(3);
    const leader = await cluster.elected(3);
    const follower = MEMBERS.find((id) => id !== leader)!;
    const result = await cluster.host(follower).group(3)!.write(set('k', 'forwarded'));
    expect(result.applied).toBe(true);
    const asker = new MemoryTransport(cluster.hub, 'x:1');
    await asker.start();
    await expect(
      asker.request(leader, { kind: 'group', group: 4, body: { kind: 'status' } }, 5000),
    ).rejects.toThrow('unknown group 4');
    await asker.stop();
  });

  it('lets idle groups go quiet and wakes them when a write arrives', async () => {
    cluster = new HostCluster();
    await cluster.start();
    for (const group of [1, 2]) await cluster.createGroup(group);
    for (const group of [1, 2]) await cluster.elected(group);
    await until(() => cluster.quiet(1) && cluster.quiet(2), 'both groups quiet');
    const leader = cluster.leader(1)!;
    const before = leader.localStatus().term;
    await leader.write(set('k', 'woken'));
    for (const id of MEMBERS) {
      await until(
        () => cluster.host(id).group(1)!.machine.get('', 'k')?.value === 'woken',
        `applied on ${id}`,
      );
    }
    await until(() => cluster.quiet(1), 'group 1 quiet again');
    expect(cluster.leader(1)!.localStatus().term).toBe(before);
  });

  it("replaces a quiet group's leader whose node is cut off, which steps down", async () => {
    cluster = new HostCluster();
    await cluster.start();
    await cluster.createGroup(1);
    const old = await cluster.elected(1);
    await until(() => cluster.quiet(1), 'group 1 quiet');
    for (const id of MEMBERS) if (id !== old) cluster.hub.disconnect(old, id);
    const oldNode = cluster.host(old).group(1)!;
    await until(
      () => cluster.leader(1) !== undefined && cluster.leader(1)!.id !== old && !oldNode.isLeader(),
      'a new leader, and the old one stepped down',
    );
  });

  it('refuses a second group with the same id and the removal of one it does not host', async () => {
    cluster = new HostCluster();
    await cluster.start();
    await cluster.createGroup(1, ['a:1']);
    await expect(cluster.host('a:1').createGroup(1, nodeOptions('a:1', 1))).rejects.toThrow(
      'group 1 already exists here',
    );
    await expect(cluster.host('a:1').destroyGroup(2)).rejects.toThrow('group 2 does not exist here');
  });
});
