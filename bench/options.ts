import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { WORKLOAD_GROUPS, type WorkloadGroup } from './plan.ts';
import type { FaultKind, Mode } from './results.ts';
import { WIRE_CLIENTS, type WireClient } from './wire/http-call.ts';

export interface BenchOptions {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly workloads: readonly WorkloadGroup[];
  readonly concurrency: readonly number[];
  /** Where imdgo and etcd loads are issued: the leader, a follower, or both (to isolate a profile). */
  readonly targets: readonly ('leader' | 'follower')[];
  readonly compare: boolean;
  /** Also run etcd with its data on disk, besides tmpfs. */
  readonly etcdDisk: boolean;
  readonly json: string | null;
  readonly smoke: boolean;
  readonly failoverRounds: number;
  readonly failoverConcurrency: number;
  /** How the leader fails in the failover test: kill -9, SIGSTOP, or each in turn. */
  readonly failoverFaults: readonly FaultKind[];
  readonly memoryKeys: number;
  /** Seconds each system rests after its memory load before RSS is read again; 0: no reading at rest. */
  readonly memoryRestSeconds: number;
  /** Where imdgo node processes write V8 CPU profiles (--cpu-prof), or null. */
  readonly cpuProfDir: string | null;
  /** More Node flags for imdgo node processes (`--trace-gc`), split at spaces. */
  readonly nodeFlags: readonly string[];
  readonly verbose: boolean;
  /** Interleaved rounds of every row. */
  readonly rounds: number;
  /** imdgo's dataDir and etcd's data under this directory (one filesystem), or null: memory and tmpfs. */
  readonly dataDir: string | null;
  /** The arrival rate of the open-loop write row at the highest concurrency, ops/s; null: no such row. */
  readonly openRate: number | null;
  /** Which tables: the calls of a Nest app (`app`) and the service over HTTP (`wire`). */
  readonly modes: readonly Mode[];
  /** Seconds of fault-free writes counting leader changes, instead of the tables; null: the tables. */
  readonly stabilitySeconds: number | null;
  /** imdgo nodes' tickMs (the election timeout is 10 ticks), or null for the library's default. */
  readonly tickMs: number | null;
  /** `--scale 3,6`: the scale-out benchmark over these cluster sizes instead of the tables; null: not asked. */
  readonly scale: readonly number[] | null;
  /** Cores each node's CPU cgroup may use in the scale-out benchmark. */
  readonly nodeCpu: number;
  /** The scale-out benchmark's partitioned mode; 1: only the one-group mode. */
  readonly partitions: number;
  /** The load generator's HTTP client in the wire table. */
  readonly wireClient: WireClient;
}

export const USAGE = `npm run bench -- [options]
  --duration S           measured seconds per run (default 10)
  --warmup S             warm-up seconds before each run (default 2)
  --keys N               keys loaded and addressed at random (default 10000)
  --value-bytes N        value size (default 100)
  --workloads LIST       of ${WORKLOAD_GROUPS.join(',')} (default: all)
  --concurrency LIST     closed-loop concurrencies (default 1,64)
  --targets LIST         issue writes, reads and mix on the leader, a follower or both (default both)
  --compare              also run etcd (3 members, data on tmpfs) and Redis
  --modes LIST           app (calls from a Nest app), wire (HTTP from a load-generator process) (default both)
  --wire-client NAME     the wire table's HTTP client: undici (its Pool), http (node:http, keep-alive
                         Agent) or fetch (Node's, undici behind the WHATWG API) (default undici)
  --rounds N             interleaved rounds of every row, spread printed (default 3)
  --data-dir DIR         imdgo with dataDir, and etcd's data, under DIR (same filesystem); default: memory
  --open-rate N          open-loop write row at the highest concurrency, N ops/s (default 2000; 0: none)
  --etcd-disk            with --compare: also etcd with its data on disk
  --json FILE            write every result as one JSON object per line
  --smoke                5 s: imdgo writes and reads only, exits 1 if they fail
  --failover-rounds N    fail the leader N times per fault (default 5)
  --failover-faults LIST kill (kill -9), stop (SIGSTOP) and cut (the leader's links drop everything:
                         imdgo's fault-injection hook, etcd's members in network namespaces, as root);
                         no connection closes in the last two (default kill,stop)
  --failover-concurrency N  writers during failover (default 8)
  --memory-keys N        keys for the memory workload (default 1000000)
  --memory-rest S        seconds each system rests after the memory load before RSS is read again
                         (V8's memory reducer runs about 100 s after the last full collection) (default 150; 0: none)
  --stability S          only this: S seconds of writes on imdgo's leader at the highest --concurrency,
                         no fault, printing the leader changes and new terms (both must be 0)
  --cpu-prof DIR         write imdgo nodes' CPU profiles (demo processes too) into DIR
  --node-flags FLAGS     more Node flags for imdgo nodes, e.g. --node-flags=--trace-gc (with --verbose to
                         see what they print)
  --tick-ms N            imdgo nodes' tickMs (election timeout 10 ticks), to compare timings (default: 65)
  --verbose              show the output of every process started
  --scale LIST           the scale-out benchmark instead (as root): clusters of these sizes, each node in its
                         own CPU cgroup; writes and linearizable reads through every node, one-group and
                         partitioned mode; takes --keys, --value-bytes, --duration, --warmup, --rounds, --json,
                         and the highest --concurrency as workers per node (default 1,64: 64)
  --node-cpu CORES       with --scale: each node's CPU quota (default 0.25)
  --partitions N         with --scale: the partitioned mode's partition count (default 16; 1: one-group only)`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      keys: { type: 'string', default: '10000' },
      'value-bytes': { type: 'string', default: '100' },
      workloads: { type: 'string', default: WORKLOAD_GROUPS.join(',') },
      concurrency: { type: 'string', default: '1,64' },
      targets: { type: 'string', default: 'leader,follower' },
      compare: { type: 'boolean', default: false },
      'etcd-disk': { type: 'boolean', default: false },
      json: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'failover-rounds': { type: 'string', default: '5' },
      'failover-concurrency': { type: 'string', default: '8' },
      'failover-faults': { type: 'string', default: 'kill,stop' },
      'memory-keys': { type: 'string', default: '1000000' },
      'memory-rest': { type: 'string', default: '150' },
      'cpu-prof': { type: 'string' },
      'node-flags': { type: 'string', default: '' },
      verbose: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '3' },
      'data-dir': { type: 'string' },
      'open-rate': { type: 'string', default: '2000' },
      modes: { type: 'string', default: 'app,wire' },
      stability: { type: 'string' },
      'tick-ms': { type: 'string' },
      scale: { type: 'string' },
      'node-cpu': { type: 'string', default: '0.25' },
      partitions: { type: 'string', default: '16' },
      'wire-client': { type: 'string', default: 'undici' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const workloads = values.workloads.split(',').map((name) => {
    if (!(WORKLOAD_GROUPS as readonly string[]).includes(name)) {
      throw new Error(`unknown workload "${name}" (known: ${WORKLOAD_GROUPS.join(', ')})`);
    }
    return name as WorkloadGroup;
  });
  const smoke = values.smoke;
  return {
    durationMs: smoke ? 1_000 : seconds('duration', values.duration),
    warmupMs: smoke ? 250 : seconds('warmup', values.warmup, true),
    // A smaller data set loads faster; the smoke run checks that the paths work, not their speed.
    keys: smoke ? Math.min(1_000, positive('keys', values.keys)) : positive('keys', values.keys),
    valueBytes: positive('value-bytes', values['value-bytes']),
    workloads: smoke ? ['write', 'read'] : workloads,
    concurrency: values.concurrency.split(',').map((c) => positive('concurrency', c)),
    targets: values.targets.split(',').map((target) => {
      if (target !== 'leader' && target !== 'follower') {
        throw new Error(`--targets takes leader and follower, got "${target}"`);
      }
      return target;
    }),
    compare: values.compare && !smoke,
    etcdDisk: values['etcd-disk'],
    json: values.json ?? null,
    smoke,
    failoverRounds: positive('failover-rounds', values['failover-rounds']),
    failoverConcurrency: positive('failover-concurrency', values['failover-concurrency']),
    failoverFaults: values['failover-faults'].split(',').map((fault) => {
      if (fault !== 'kill' && fault !== 'stop' && fault !== 'cut') {
        throw new Error(`--failover-faults takes kill, stop and cut, got "${fault}"`);
      }
      return fault;
    }),
    memoryKeys: positive('memory-keys', values['memory-keys']),
    memoryRestSeconds: values['memory-rest'] === '0' ? 0 : positive('memory-rest', values['memory-rest']),
    cpuProfDir: values['cpu-prof'] ?? null,
    nodeFlags: values['node-flags'].split(' ').filter((flag) => flag !== ''),
    verbose: values.verbose,
    rounds: smoke ? 1 : positive('rounds', values.rounds),
    dataDir: values['data-dir'] === undefined ? null : resolve(values['data-dir']),
    openRate: smoke || values['open-rate'] === '0' ? null : positive('open-rate', values['open-rate']),
    tickMs: values['tick-ms'] === undefined ? null : positive('tick-ms', values['tick-ms']),
    stabilitySeconds: values.stability === undefined ? null : positive('stability', values.stability),
    modes: smoke
      ? ['app']
      : values.modes.split(',').map((mode) => {
          if (mode !== 'app' && mode !== 'wire') throw new Error(`--modes takes app and wire, got "${mode}"`);
          return mode;
        }),
    scale: values.scale === undefined ? null : values.scale.split(',').map((n) => positive('scale', n)),
    nodeCpu: cores(values['node-cpu']),
    partitions: positive('partitions', values.partitions),
    wireClient: wireClient(values['wire-client']),
  };
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return n;
}

/** A share of the machine's cores, as a CPU cgroup's quota gives it. */
function cores(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0.01 || n > availableParallelism()) {
    throw new Error(`--node-cpu must be from 0.01 to ${availableParallelism()} cores, got "${text}"`);
  }
  return n;
}

function seconds(name: string, text: string, zeroAllowed = false): number {
  const s = Number(text);
  if (!Number.isFinite(s) || s < 0 || (s === 0 && !zeroAllowed)) {
    throw new Error(`--${name} must be a positive number of seconds, got "${text}"`);
  }
  return Math.round(s * 1000);
}

function wireClient(name: string): WireClient {
  if (!(WIRE_CLIENTS as readonly string[]).includes(name)) {
    throw new Error(`--wire-client takes ${WIRE_CLIENTS.join(' or ')}, got "${name}"`);
  }
  return name as WireClient;
}
