import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where cgroup v1 mounts its CPU controller. */
export const CPU_CGROUP_ROOT = '/sys/fs/cgroup/cpu';
/** The kernel's default CFS period: a group may run `quota` µs of CPU time in every period. */
export const CFS_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms. */
export const MIN_QUOTA_US = 1_000;

/** The CFS quota that gives a group `cores` cores' worth of CPU time per period (0.25: a quarter core). */
export function cfsQuotaUs(cores: number, periodUs = CFS_PERIOD_US): number {
  if (!Number.isFinite(cores) || cores <= 0) {
    throw new Error(`a node's CPU must be a positive number of cores, got ${cores}`);
  }
  const quota = Math.round(cores * periodUs);
  if (quota < MIN_QUOTA_US) {
    throw new Error(
      `${cores} cores is ${quota} µs per ${periodUs} µs period, below the kernel's 1 ms minimum`,
    );
  }
  return quota;
}

/** Why CPU cgroups cannot be made here, or null when they can. */
export function cgroupUnavailable(root = CPU_CGROUP_ROOT, uid = process.getuid?.()): string | null {
  if (uid !== 0) {
    return 'the scale benchmark puts every node in its own CPU cgroup, which needs root (run it as root)';
  }
  if (!existsSync(join(root, 'cpu.cfs_quota_us'))) {
    return `no cgroup v1 CPU controller at ${root} (${join(root, 'cpu.cfs_quota_us')} is missing)`;
  }
  return null;
}

/** How often the kernel held a group back for having used its quota (from `cpu.stat`). */
export interface Throttling {
  readonly periods: number;
  readonly throttledPeriods: number;
  readonly throttledUs: number;
}

/** Parses cgroup v1 `cpu.stat` (`nr_periods`, `nr_throttled`, `throttled_time` in ns). */
export function parseCpuStat(text: string): Throttling {
  const fields = new Map(
    text
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
  const field = (name: string): number => {
    const value = Number(fields.get(name));
    if (!Number.isFinite(value)) throw new Error(`cpu.stat has no ${name}: ${JSON.stringify(text)}`);
    return value;
  };
  return {
    periods: field('nr_periods'),
    throttledPeriods: field('nr_throttled'),
    throttledUs: field('throttled_time') / 1000,
  };
}

/** Cgroups made by this process and not yet removed: removed at exit too, whatever ends the benchmark. */
const created = new Set<CpuCgroup>();
let exitHookInstalled = false;

/**
 * One cgroup v1 CPU cgroup with a CFS quota, so the processes in it get at most `cores` of CPU time
 * however idle the machine is: a small host, emulated. Removed by `remove()` once its processes are gone.
 */
export class CpuCgroup {
  readonly path: string;
  readonly cores: number;

  private constructor(path: string, cores: number) {
    this.path = path;
    this.cores = cores;
  }

  static create(name: string, cores: number, root = CPU_CGROUP_ROOT): CpuCgroup {
    const unavailable = cgroupUnavailable(root);
    if (unavailable !== null) throw new Error(unavailable);
    const quota = cfsQuotaUs(cores);
    const path = join(root, name);
    mkdirSync(path);
    const group = new CpuCgroup(path, cores);
    created.add(group);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const leftover of created) leftover.remove();
      });
    }
    writeFileSync(join(path, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    writeFileSync(join(path, 'cpu.cfs_quota_us'), String(quota));
    return group;
  }

  /** The file a process writes its pid to in order to join (see `wrapCommand`). */
  get procsFile(): string {
    return join(this.path, 'cgroup.procs');
  }

  /**
   * `command` run through /bin/sh, which moves itself into this cgroup and then execs the command under
   * the same pid: the process runs inside the quota from its first instruction.
   */
  wrapCommand(command: string, args: readonly string[]): { command: string; args: string[] } {
    return {
      command: '/bin/sh',
      args: ['-c', 'echo $$ > "$0" && exec "$@"', this.procsFile, command, ...args],
    };
  }

  throttling(): Throttling {
    return parseCpuStat(readFileSync(join(this.path, 'cpu.stat'), 'utf8'));
  }

  /**
   * Deletes the cgroup. A process killed a moment ago may not have left it yet (EBUSY): retried for up to
   * a second, synchronously, since this also runs from the 'exit' event.
   */
  remove(): void {
    if (!created.has(this)) return;
    const until = Date.now() + 1_000;
    for (;;) {
      try {
        rmdirSync(this.path);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || Date.now() > until) {
          console.error(`could not remove the cgroup ${this.path}: ${(error as Error).message}`);
          break;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    created.delete(this);
  }
}
