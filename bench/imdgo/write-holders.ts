/**
 * What the writes leave alive on the heap, and what holds it: a 3-node cluster inside this process (the
 * built library, so `npm run build` first), closed-loop `ImdgoStore.set` through the leader or a follower.
 * After a warm-up, a heap snapshot; then `--writes` more writes (about one young-generation collection's
 * worth) and a second snapshot. The objects of the second that the first did not have (V8 numbers objects
 * in the order a snapshot first sees them) were made by those writes and are still alive: what the next
 * young-generation collection would copy, by type and by holder (the nearest object older than the window
 * on a path of retainers, with the path). `native system / JSArrayBufferData` is off V8's heap: never copied.
 *
 *   node bench/imdgo/write-holders.ts [--target leader|follower] [--writes N] [--concurrency N] [--top N]
 */
import 'reflect-metadata';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { startInProcessWrites } from './in-process-writes.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'follower' },
    writes: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    top: { type: 'string', default: '20' },
  },
});
const target = values.target;
if (target !== 'leader' && target !== 'follower') throw new Error('--target is leader or follower');
const writes = Number(values.writes);
const concurrency = Number(values.concurrency);
const top = Number(values.top);

interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function snapshot(name: string): HeapSnapshot {
  const file = writeHeapSnapshot(join(tmpdir(), `imdgo-${process.pid}-${name}.heapsnapshot`));
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  } finally {
    rmSync(file);
  }
}

/** The highest object id of a snapshot, which is then let go (it takes as much heap as the one it shows). */
function highestId(heap: HeapSnapshot): number {
  const fields = heap.snapshot.meta.node_fields;
  const width = fields.length;
  const id = fields.indexOf('id');
  let highest = 0;
  for (let i = 0; i < heap.nodes.length; i += width) highest = Math.max(highest, heap.nodes[i + id]!);
  return highest;
}

function report(heap: HeapSnapshot, before: number): void {
  const { meta } = heap.snapshot;
  const width = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const [idField, typeField, nameField, sizeField, edgeCountField] = [
    'id',
    'type',
    'name',
    'self_size',
    'edge_count',
  ].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number, number];
  const [edgeTypeField, edgeNameField, toField] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const { nodes, edges, strings } = heap;
  const count = nodes.length / width;
  const isNew = (n: number): boolean => nodes[n * width + idField]! > before;
  const label = (n: number): string => {
    const type = meta.node_types[0][nodes[n * width + typeField]!]!;
    // A string's name is its text.
    return type.includes('string') ? type : `${type} ${strings[nodes[n * width + nameField]!]!.slice(0, 40)}`;
  };
  // One retainer per object, an old one where there is one: where a new object hangs off older structure.
  const retainer = new Int32Array(count).fill(-1);
  const via: string[] = [];
  let e = 0;
  for (let n = 0; n < count; n++) {
    const edgeCount = nodes[n * width + edgeCountField]!;
    for (let k = 0; k < edgeCount; k++, e += edgeWidth) {
      const type = meta.edge_types[0][edges[e + edgeTypeField]!]!;
      if (type === 'weak' || type === 'shortcut') continue;
      const to = edges[e + toField]! / width;
      if (retainer[to] !== -1 && (isNew(n) || !isNew(retainer[to]!))) continue;
      retainer[to] = n;
      via[to] = type === 'element' || type === 'hidden' ? '[]' : String(strings[edges[e + edgeNameField]!]);
    }
  }
  const holder = (n: number): string => {
    let path = '';
    for (let depth = 0; depth < 6 && isNew(n) && retainer[n] !== -1; depth++) {
      path = `.${via[n]}${path}`;
      n = retainer[n]!;
    }
    return `${label(n)}${path}`;
  };
  const byType = new Map<string, number>();
  const byHolder = new Map<string, number>();
  let total = 0;
  for (let n = 0; n < count; n++) {
    if (!isNew(n)) continue;
    const size = nodes[n * width + sizeField]!;
    total += size;
    byType.set(label(n), (byType.get(label(n)) ?? 0) + size);
    byHolder.set(holder(n), (byHolder.get(holder(n)) ?? 0) + size);
  }
  const print = (rows: Map<string, number>): void => {
    for (const [name, bytes] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`${(bytes / writes).toFixed(0).padStart(7)} B  ${name}`);
  };
  console.log(
    `${target}: made by ${writes} writes at concurrency ${concurrency} and alive after them: ` +
      `${(total / writes).toFixed(0)} B/write; by type:`,
  );
  print(byType);
  console.log('by holder:');
  print(byHolder);
}

const { cluster, run } = await startInProcessWrites(target, concurrency);
try {
  // Warm-up past the first snapshots and trailing log, so the window sees the steady state.
  await run(40_000);
  const before = highestId(snapshot('before'));
  await run(writes);
  report(snapshot('after'), before);
} finally {
  await cluster.close();
}
