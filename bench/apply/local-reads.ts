/**
 * `node bench/apply/local-reads.ts [--keys N] [--reads R] [--rounds R] [--against DIR]`: CPU per local read
 * in the state machine (`KvStateMachine.get`, what `get` with `'local'` and `peek` cost below the Nest
 * layer), for string and object values, of records kept young (objects on the heap) and in chunks (a
 * decode per read). `--against DIR` also reads with the state machine of another checkout, in alternating
 * rounds of one process: on a busy machine, two separate runs differ by more than what is compared.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeCommand, stampCommand } from '../../libs/imdgo/src/state-machine/commands.ts';
import { KvStateMachine } from '../../libs/imdgo/src/state-machine/kv-state-machine.ts';
import type { Entry } from '../../libs/imdgo/src/raft/types.ts';
import type { KvRecord } from '../../libs/imdgo/src/state-machine/kv-record.ts';
import { makeDataset } from '../load/dataset.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '10000' },
    reads: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '10' },
    against: { type: 'string' },
  },
});
const keyCount = Number(values.keys);
const reads = Number(values.reads);
const rounds = Number(values.rounds);

interface Machine {
  apply(entry: Entry): unknown;
  get(map: string, key: string): KvRecord | undefined;
}
type MachineClass = new (options: { youngRecords?: number }) => Machine;

const data = makeDataset(keyCount, 100);
/** About as many bytes as the string, in an app's usual shape. */
const user = (i: number) => ({
  id: i,
  name: `user ${i}`,
  email: `user${i}@example.com`,
  tags: ['reader', 'writer'],
  active: true,
  score: i / 7,
});
const kinds = { string: () => data.value, object: user } as const;
// Records young (the default keeps 16,384) or every one in a chunk.
const placements = { young: undefined, chunk: 0 } as const;

const trees: { name: string; Machine: MachineClass }[] = [{ name: 'this tree', Machine: KvStateMachine }];
if (values.against !== undefined) {
  const file = join(resolve(values.against), 'libs/imdgo/src/state-machine/kv-state-machine.ts');
  const other = (await import(pathToFileURL(file).href)) as { KvStateMachine: MachineClass };
  trees.push({ name: values.against, Machine: other.KvStateMachine });
}

function load(Machine: MachineClass, youngRecords: number | undefined, value: (i: number) => unknown) {
  const machine = new Machine({ youngRecords });
  data.keys.forEach((key, i) => {
    const body = encodeCommand({ command: { op: 'set', key, value: value(i) } });
    const entry: Entry = {
      index: i + 1,
      term: 1,
      kind: 'command',
      data: stampCommand(body, { time: 1, storeLimit: null }),
    };
    machine.apply(entry);
  });
  return machine;
}

const order = Array.from({ length: reads }, () => data.randomKey());
let sink = 0;
for (const [kind, value] of Object.entries(kinds)) {
  for (const [placement, youngRecords] of Object.entries(placements)) {
    const runs = trees.map(({ name, Machine }) => ({
      name,
      machine: load(Machine, youngRecords, value),
      cpuPerRead: [] as number[],
    }));
    for (let round = 1; round <= rounds; round++) {
      // Each goes first every other round, so neither always runs after the other's garbage.
      for (const run of round % 2 === 0 ? runs.toReversed() : runs) {
        const cpu = process.cpuUsage();
        for (const key of order) sink += run.machine.get('', key)!.version;
        const used = process.cpuUsage(cpu);
        run.cpuPerRead.push((used.user + used.system) / reads);
      }
    }
    for (const { name, cpuPerRead } of runs) {
      // The first rounds run code not yet optimized: the figure is the median of the second half.
      const settled = cpuPerRead.slice(Math.floor(rounds / 2)).sort((a, b) => a - b);
      const median = settled[Math.floor(settled.length / 2)]!;
      console.log(
        `${name}: ${kind} values, ${placement} records: median ${median.toFixed(3)} us/read CPU ` +
          `(settled rounds ${settled[0]!.toFixed(3)}-${settled.at(-1)!.toFixed(3)})`,
      );
    }
  }
}
// Read, so that no read above is optimized away.
if (sink < 0) console.log(sink);
