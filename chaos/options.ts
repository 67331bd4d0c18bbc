import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BREAKAGES, type Breakage } from './protocol.ts';
import { PacketNetwork } from './packet-network.ts';
import { FAULT_KINDS, PACKET_KINDS, type FaultKind } from './schedule.ts';

export const USAGE = `usage: npm run chaos -- [--duration S] [--seed N] [--nodes 3|5] [--mode memory|data]
                      [--faults LIST] [--workload full|heavy|locks] [--tick-ms MS] [--clients N]
                      [--check-timeout S] [--min-answered PERCENT] [--keep] [--break KIND]
                      [--partitions N]
       npm run chaos -- --self-test
  a cluster of real node processes under faults (kill -9, SIGSTOP, partitions, membership changes) and a
  client load, for --duration seconds (default 60, and at least one fault of each kind); then heals,
  converges and checks the history.
  --seed replays the same fault schedule (default: random, printed). --mode data gives each node a data
  directory. --faults picks the fault kinds, comma-separated (default: all): ${FAULT_KINDS.join(', ')}
  (kill-all only in data mode; packet-* only as root, which puts every node in its own network namespace),
  or the groups kill, pause, partition, membership, clock, packet. clock-jump moves one node's wall clock
  (Date.now in its process) by 1 s to 5 min, forwards or backwards. --workload full (default) mixes get, set (some with a TTL), delete, cas,
  putIfAbsent, setIfVersion and increment, plus one lock client per node; heavy does the same without the
  lock clients, with four times the clients and no pause between operations; locks runs only lock clients (two per node): take
  lock(name) or tryLock({ waitMs }), hold briefly, write the fencing token to a fenced register, unlock. --min-answered fails the run when a fault window answers a smaller share of the
  operations invoked in it (default 0: off). --keep keeps the run directory (history, node logs), which is
  kept anyway on a violation.
  --partitions N runs every node in partitioned mode with N partitions (default 1: one Raft group).
  --break runs deliberately broken nodes, to show that the checks catch them: ${BREAKAGES.join(', ')}.
  --self-test runs a short run against each broken build and passes only if every one is caught.`;

export interface ChaosOptions {
  readonly durationMs: number;
  readonly seed: number;
  readonly nodes: number;
  readonly mode: 'memory' | 'data';
  readonly faults: readonly FaultKind[];
  readonly workload: 'full' | 'heavy' | 'locks';
  readonly tickMs: number;
  readonly clients: number;
  /** Clients wait up to this long between two operations. */
  readonly thinkMs: number;
  readonly checkTimeoutMs: number;
  /** The least share of the operations invoked in a fault window that must be answered (0 to 1). */
  readonly minAnswered: number;
  readonly keep: boolean;
  readonly breakage: Breakage | null;
  /** ImdgoModule's `partitions` on every node; 1: one group, as before partitioned mode. */
  readonly partitions: number;
}

export class UsageError extends Error {}

export function parseChaosOptions(
  argv: readonly string[],
  packetNetwork = PacketNetwork.available(),
): ChaosOptions | 'help' | 'self-test' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '60' },
        seed: { type: 'string' },
        nodes: { type: 'string', default: '3' },
        mode: { type: 'string', default: 'memory' },
        faults: { type: 'string' },
        workload: { type: 'string', default: 'full' },
        'tick-ms': { type: 'string', default: '30' },
        clients: { type: 'string' },
        'check-timeout': { type: 'string', default: '300' },
        'min-answered': { type: 'string', default: '0' },
        keep: { type: 'boolean', default: false },
        break: { type: 'string' },
        partitions: { type: 'string', default: '1' },
        'self-test': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values['self-test']) return 'self-test';
  const nodes = integer('nodes', values.nodes, 3, 5);
  if (nodes !== 3 && nodes !== 5) throw new UsageError('--nodes must be 3 or 5');
  if (values.mode !== 'memory' && values.mode !== 'data')
    throw new UsageError('--mode must be memory or data');
  if (values.workload !== 'full' && values.workload !== 'heavy' && values.workload !== 'locks')
    throw new UsageError('--workload must be full, heavy or locks');
  const breakage = values.break ?? null;
  if (breakage !== null && !(BREAKAGES as readonly string[]).includes(breakage)) {
    throw new UsageError(`--break must be one of ${BREAKAGES.join(', ')}, got "${breakage}"`);
  }
  const heavy = values.workload === 'heavy';
  return {
    durationMs: integer('duration', values.duration, 1, 86_400) * 1000,
    seed: values.seed === undefined ? randomInt(2 ** 31) : integer('seed', values.seed, 0, 2 ** 32 - 1),
    nodes,
    mode: values.mode,
    faults: faultKinds(values.faults, values.mode, packetNetwork),
    workload: values.workload,
    tickMs: integer('tick-ms', values['tick-ms'], 10, 50),
    clients:
      values.clients === undefined ? (heavy ? 8 : 2) * nodes : integer('clients', values.clients, 1, 100),
    thinkMs: heavy ? 0 : 20,
    checkTimeoutMs: integer('check-timeout', values['check-timeout'], 1, 86_400) * 1000,
    minAnswered: integer('min-answered', values['min-answered'], 0, 100) / 100,
    keep: values.keep,
    breakage: breakage as Breakage | null,
    partitions: integer('partitions', values.partitions, 1, 65_536),
  };
}

/** Names for several kinds at once. */
const GROUPS: Readonly<Record<string, readonly FaultKind[]>> = {
  kill: ['kill-leader', 'kill-follower', 'kill-all'],
  pause: ['pause-leader', 'pause-follower'],
  partition: ['partition-halves', 'partition-leader', 'partition-bridge'],
  membership: ['member-replace', 'member-grow-shrink'],
  clock: ['clock-jump'],
  packet: PACKET_KINDS,
};

/** The fault kinds named in `list`, or groups of them (default: every kind the mode supports). */
function faultKinds(list: string | undefined, mode: 'memory' | 'data', packetNetwork: boolean): FaultKind[] {
  const supported = FAULT_KINDS.filter(
    (kind) => (mode === 'data' || kind !== 'kill-all') && (packetNetwork || !PACKET_KINDS.includes(kind)),
  );
  if (list === undefined) return supported;
  if (list.split(',').some((name) => name.trim() === 'packet') && !packetNetwork) {
    throw new UsageError('--faults: packet faults need root and iproute2 (ip netns, tc)');
  }
  // A group takes the kinds of it that the mode supports.
  const kinds = list.split(',').flatMap((name) => {
    const group = GROUPS[name.trim()];
    return group ? group.filter((kind) => supported.includes(kind)) : [name.trim()];
  });
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`--faults: unknown fault kind "${kind}"; the kinds are ${FAULT_KINDS.join(', ')}`);
    }
    if (!(supported as readonly string[]).includes(kind)) {
      throw new UsageError(
        kind === 'kill-all'
          ? '--faults: kill-all needs --mode data (in memory mode it loses everything)'
          : `--faults: ${kind} needs root and iproute2 (ip netns, tc)`,
      );
    }
  }
  return [...new Set(kinds as FaultKind[])];
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
