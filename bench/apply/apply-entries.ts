/**
 * `node bench/apply/apply-entries.ts [--entries N] [--rounds R] [--clients C] [--against DIR]`: CPU per
 * applied entry in the state machine, for the log the app write benchmark makes: stamped, session-carrying
 * `set`s of a 100-byte value over 10k keys, from one client (the writing node) with 64 writes in flight.
 * Every node applies each entry, so this cost is paid three times per write in a three-node group.
 * `--against DIR` also applies the same log with the state machine of another checkout (a worktree of
 * main, say), in alternating rounds of one process: on a busy machine, two separate runs differ by more
 * than what is compared.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  encodeCommand,
  stampCommands,
  type SessionStamp,
} from '../../libs/imdgo/src/state-machine/commands.ts';
import { KvStateMachine } from '../../libs/imdgo/src/state-machine/kv-state-machine.ts';
import type { Entry } from '../../libs/imdgo/src/raft/types.ts';
import { makeDataset } from '../load/dataset.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '12' },
    clients: { type: 'string', default: '1' },
    against: { type: 'string' },
  },
});
const count = Number(values.entries);
const rounds = Number(values.rounds);
const IN_FLIGHT = 64;
// Client ids as ClientSession makes them: 12 characters.
const CLIENTS = Array.from({ length: Number(values.clients) }, (_, i) => `client-${i}`.padEnd(12, '.'));
const data = makeDataset(10_000, 100);

interface Machine {
  apply(entry: Entry): unknown;
}

/** The log: each client's seq rises by one per write, and it still awaits the 64 writes before it. */
function makeLog(): Entry[] {
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const seq = Math.floor(i / CLIENTS.length) + 1;
    const session: SessionStamp = {
      client: CLIENTS[i % CLIENTS.length]!,
      seq,
      firstUnacked: Math.max(1, seq - IN_FLIGHT + 1),
    };
    // encodeCommand returns a view of msgpackr's buffer: copy it before the next encode.
    bodies.push(
      encodeCommand({ session, command: { op: 'set', key: data.randomKey(), value: data.value } }).slice(),
    );
  }
  const stamped = stampCommands(bodies, { time: Date.now(), storeLimit: null });
  return stamped.map((bytes, i) => ({ index: i + 1, term: 1, kind: 'command', data: bytes }));
}

const trees: { name: string; create: () => Machine; cpuPerEntry: number[] }[] = [
  { name: 'this tree', create: () => new KvStateMachine(), cpuPerEntry: [] },
];
if (values.against !== undefined) {
  const file = join(resolve(values.against), 'libs/imdgo/src/state-machine/kv-state-machine.ts');
  const other = (await import(pathToFileURL(file).href)) as { KvStateMachine: new () => Machine };
  trees.push({ name: values.against, create: () => new other.KvStateMachine(), cpuPerEntry: [] });
}

const log = makeLog();
for (let round = 1; round <= rounds; round++) {
  // Each goes first every other round, so neither always runs after the other's garbage.
  for (const tree of round % 2 === 0 ? trees.toReversed() : trees) {
    const machine = tree.create();
    const cpu = process.cpuUsage();
    for (const entry of log) machine.apply(entry);
    const used = process.cpuUsage(cpu);
    tree.cpuPerEntry.push((used.user + used.system) / count);
  }
}
for (const { name, cpuPerEntry } of trees) {
  // The first rounds run code not yet optimized: the figure is the median of the second half.
  const settled = cpuPerEntry.slice(Math.floor(rounds / 2)).sort((a, b) => a - b);
  const median = settled[Math.floor(settled.length / 2)]!;
  console.log(
    `${name}: ${count} entries x ${rounds} rounds: median ${median.toFixed(3)} us/entry CPU ` +
      `(settled rounds ${settled[0]!.toFixed(3)}-${settled.at(-1)!.toFixed(3)})`,
  );
}
