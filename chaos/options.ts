import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run chaos -- [--duration S] [--seed N] [--nodes 3|5] [--mode memory|data]
                      [--tick-ms MS] [--clients N] [--check-timeout S] [--keep] [--stale-reads]
  a cluster of real node processes under faults (kill -9, SIGSTOP, partitions, membership changes) and a
  client load, for --duration seconds (default 60, and at least one fault of each kind); then heals,
  converges and checks the history.
  --seed replays the same fault schedule (default: random, printed). --mode data gives each node a data
  directory. --keep keeps the run directory (history, node logs), which is kept anyway on a violation.
  --stale-reads makes the clients read each node's local memory, to show that the checks catch it.`;

export interface ChaosOptions {
  readonly durationMs: number;
  readonly seed: number;
  readonly nodes: number;
  readonly mode: 'memory' | 'data';
  readonly tickMs: number;
  readonly clients: number;
  readonly checkTimeoutMs: number;
  readonly keep: boolean;
  readonly staleReads: boolean;
}

export class UsageError extends Error {}

export function parseChaosOptions(argv: readonly string[]): ChaosOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '60' },
        seed: { type: 'string' },
        nodes: { type: 'string', default: '3' },
        mode: { type: 'string', default: 'memory' },
        'tick-ms': { type: 'string', default: '30' },
        clients: { type: 'string' },
        'check-timeout': { type: 'string', default: '300' },
        keep: { type: 'boolean', default: false },
        'stale-reads': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const nodes = integer('nodes', values.nodes, 3, 5);
  if (nodes !== 3 && nodes !== 5) throw new UsageError('--nodes must be 3 or 5');
  if (values.mode !== 'memory' && values.mode !== 'data')
    throw new UsageError('--mode must be memory or data');
  return {
    durationMs: integer('duration', values.duration, 1, 86_400) * 1000,
    seed: values.seed === undefined ? randomInt(2 ** 31) : integer('seed', values.seed, 0, 2 ** 32 - 1),
    nodes,
    mode: values.mode,
    tickMs: integer('tick-ms', values['tick-ms'], 10, 50),
    clients: values.clients === undefined ? 2 * nodes : integer('clients', values.clients, 1, 100),
    checkTimeoutMs: integer('check-timeout', values['check-timeout'], 1, 86_400) * 1000,
    keep: values.keep,
    staleReads: values['stale-reads'],
  };
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
