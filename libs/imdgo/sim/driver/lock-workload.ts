import { LockHistoryChecker } from '../../src/checker/lock-history.ts';
import type { SeededRandom } from '../../src/raft/random.ts';
import type { Entry } from '../../src/raft/types.ts';
import type { CommandResult, KvCommand } from '../../src/state-machine/commands.ts';
import { KvStateMachine } from '../../src/state-machine/kv-state-machine.ts';
import { ELECTION_SPACE, LOCK_SPACE, type LockOutcome } from '../../src/state-machine/lock-table.ts';
import type { WorkloadHost } from './driver-workload.ts';

const SESSION_TTL_MS = 1_000;
const NAMES = ['x', 'y'];
const OWNERS = ['o1', 'o2'];
const SPACES = [LOCK_SPACE, ELECTION_SPACE];

/**
 * Lock clients for the driver simulator: each opens lock sessions and takes, waits for, releases and
 * abandons locks and elections through `RaftNode.write`, renewing its session as a node would, so sessions
 * expire under the nemesis's crashes, pauses and partitions. The log they produce is replayed, in index
 * order, into one state machine whose lock events a LockHistoryChecker judges; and every grant a client was
 * told of must be one the log made.
 */
export class LockWorkload {
  readonly checker = new LockHistoryChecker();
  violation: string | null = null;
  /** Grants the clients were told of, as `space/name/session/owner/token`. */
  private readonly acknowledged: string[] = [];
  private readonly replica = new KvStateMachine();
  private readonly entries: Entry[] = [];
  private stopped = false;
  private readonly random: SeededRandom;
  private readonly host: WorkloadHost;
  private readonly timeoutMs: number;

  constructor(random: SeededRandom, host: WorkloadHost, timeoutMs: number) {
    this.random = random;
    this.host = host;
    this.timeoutMs = timeoutMs;
  }

  get replayed(): number {
    return this.replica.appliedIndex;
  }

  start(clients: number): void {
    for (let i = 0; i < clients; i++) void this.client(i);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Every entry some node applied (they agree at each index; DriverInvariants checks that). */
  onApplied(entry: Entry): void {
    this.entries[entry.index] ??= entry;
    for (
      let next = this.entries[this.replica.appliedIndex + 1];
      next;
      next = this.entries[this.replica.appliedIndex + 1]
    ) {
      for (const change of this.replica.apply(next).changes) this.checker.observe(change);
      this.checker.entryDone(next.index);
    }
    this.violation ??= this.checker.violation;
  }

  /** At the end of a run: every grant a client was told of is one the log made. */
  checkAcknowledged(): void {
    for (const grant of this.acknowledged) {
      const index = Number(grant.slice(grant.lastIndexOf('/') + 1));
      if (index <= this.replica.appliedIndex && !this.checker.grants.has(grant))
        this.violation ??= `a client was granted ${grant}, which the log never granted`;
    }
  }

  private async client(index: number): Promise<void> {
    let generation = 0;
    let session: string | null = null;
    await this.host.sleep(this.random.int(50));
    while (!this.stopped) {
      const targets = this.host.reachable();
      if (targets.length > 0) {
        const node = this.random.pick(targets).node;
        if (session === null) {
          session = `lock-client-${index}.${++generation}`;
          const opened = await this.write(node.write.bind(node), {
            op: 'lock-session',
            key: session,
            node: 'sim',
            ttlMs: SESSION_TTL_MS,
            open: true,
          });
          if (opened?.applied !== true) session = null;
        } else {
          const result = await this.write(node.write.bind(node), this.command(session));
          const outcome = result?.value as LockOutcome | boolean | undefined;
          if (outcome === false || (typeof outcome === 'object' && outcome.session === false)) session = null;
        }
      }
      await this.host.sleep(1 + this.random.int(100));
    }
  }

  private command(session: string): KvCommand {
    const space = this.random.pick(SPACES);
    const target = { map: space, key: this.random.pick(NAMES), session, owner: this.random.pick(OWNERS) };
    const roll = this.random.int(100);
    if (roll < 30)
      return { op: 'lock-session', key: session, node: 'sim', ttlMs: SESSION_TTL_MS, open: false };
    if (roll < 33) return { op: 'lock-session-close', key: session };
    if (roll < 55) return { op: 'lock-release', ...target };
    if (roll < 60) return { op: 'lock-cancel', ...target };
    return { op: 'lock-acquire', ...target, wait: this.random.chance(0.6), reentrant: space === LOCK_SPACE };
  }

  /** The result, or undefined when the write's outcome is unknown or it was refused. */
  private async write(
    write: (command: KvCommand) => Promise<CommandResult>,
    command: KvCommand,
  ): Promise<CommandResult | undefined> {
    try {
      const result = await this.host.within(write(command), this.timeoutMs);
      if (result === 'timeout') return undefined;
      const token = (result.value as Partial<LockOutcome> | null)?.token;
      if (command.op === 'lock-acquire' && typeof token === 'number') {
        this.acknowledged.push(`${command.map}/${command.key}/${command.session}/${command.owner}/${token}`);
      }
      return result;
    } catch {
      return undefined;
    }
  }
}
