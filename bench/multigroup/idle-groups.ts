/**
 * Idle cost of many Raft groups per node: a 3-node in-process cluster (one GroupHost per node on one
 * MemoryHub, default timing), N groups on every node, measured after every group elected a leader.
 *
 *   node --expose-gc bench/multigroup/idle-groups.ts [--groups 1,64,256] [--seconds 20] [--no-quiesce]
 *
 * Prints, per group count: CPU of the whole process over the window (user + system, % of one core), that
 * divided by the 3 nodes, frames and messages each node sent per second, and heap per group (heap after
 * the groups settled minus heap before, per group and node, after a forced GC). `--no-quiesce` keeps every
 * group heartbeating (only framing and ticks shared), for comparison. Not part of CI.
 */
import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { GroupHost } from '../../libs/imdgo/src/driver/group-host.ts';
import { SeededRandom } from '../../libs/imdgo/src/raft/random.ts';
import { MemoryStorage } from '../../libs/imdgo/src/storage/memory-storage.ts';
import { MemoryHub, MemoryTransport } from '../../libs/imdgo/src/transport/memory-transport.ts';

const MEMBERS = ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'];

const { values } = parseArgs({
  options: {
    groups: { type: 'string', default: '1,64,256' },
    seconds: { type: 'string', default: '20' },
    'no-quiesce': { type: 'boolean', default: false },
  },
});
const groupCounts = values.groups.split(',').map(Number);
const seconds = Number(values.seconds);
if (groupCounts.some((n) => !Number.isSafeInteger(n) || n < 1) || !(seconds > 0)) {
  throw new Error('usage: --groups 1,64,256 --seconds 20 (positive integers)');
}
Logger.overrideLogger(false);

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function measure(groups: number): Promise<void> {
  const hub = new MemoryHub();
  const heapBefore = heapUsed();
  const hosts = MEMBERS.map((id) => ({
    id,
    host: new GroupHost({ transport: new MemoryTransport(hub, id), quiesce: !values['no-quiesce'] }),
  }));
  for (const { host } of hosts) await host.start();
  for (let group = 0; group < groups; group++) {
    for (const [i, { id, host }] of hosts.entries()) {
      await host.createGroup(group, {
        id,
        members: MEMBERS,
        incarnation: `${id}-${group}-${Math.random()}`,
        snapshotThreshold: 10_000,
        storeLimit: null,
        maxPendingWrites: 1000,
        storage: new MemoryStorage(),
        tickMs: 100,
        electionTicks: 10,
        heartbeatTicks: 1,
        requestTimeoutMs: 5000,
        random: new SeededRandom(group * 3 + i + 1),
        onChange: () => {},
      });
    }
  }
  const settled = (): boolean => {
    for (let group = 0; group < groups; group++) {
      const leaders = hosts.filter(({ host }) => host.group(group)!.isLeader());
      if (leaders.length !== 1) return false;
      if (
        leaders[0]!.host
          .group(group)!
          .localStatus()
          .members.filter((m) => m.voter).length !== 3
      )
        return false;
    }
    return true;
  };
  const deadline = Date.now() + 120_000;
  while (!settled()) {
    if (Date.now() > deadline) throw new Error(`${groups} groups did not settle`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Leaderships spread evenly, as placement will balance them: group g led by member g mod 3.
  for (let group = 0; group < groups; group++) {
    const target = MEMBERS[group % MEMBERS.length]!;
    const leader = hosts.find(({ host }) => host.group(group)!.isLeader())!;
    if (leader.id !== target) await leader.host.group(group)!.transferLeadership(target);
  }
  // Let the elections' traffic drain before measuring.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const heapPerGroup = (heapUsed() - heapBefore) / (groups * hosts.length);
  const statsBefore = hosts.map(({ host }) => host.transportStats());
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedS = (performance.now() - started) / 1000;
  const statsAfter = hosts.map(({ host }) => host.transportStats());
  const frames = statsAfter.reduce((sum, s, i) => sum + s.framesSent - statsBefore[i]!.framesSent, 0);
  const messages = statsAfter.reduce((sum, s, i) => sum + s.messagesSent - statsBefore[i]!.messagesSent, 0);
  const processPct = ((cpu.user + cpu.system) / 1e6 / elapsedS) * 100;
  const leaders = hosts.map(({ host }) => host.groups.filter((g) => host.group(g)!.isLeader()).length);
  console.log(
    JSON.stringify({
      groups,
      quiesce: !values['no-quiesce'],
      seconds: Math.round(elapsedS * 10) / 10,
      processCpuPct: round(processPct),
      perNodeCpuPct: round(processPct / hosts.length),
      framesPerNodePerSec: round(frames / hosts.length / elapsedS),
      messagesPerNodePerSec: round(messages / hosts.length / elapsedS),
      groupsLedPerNode: leaders,
      heapKiBPerGroupPerNode: gc ? round(heapPerGroup / 1024) : 'run with --expose-gc',
    }),
  );
  for (const { host } of hosts) await host.stop();
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

for (const groups of groupCounts) await measure(groups);
