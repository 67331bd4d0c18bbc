/**
 * `node bench/scale/heap-top.ts AFTER.heapsnapshot [BEFORE.heapsnapshot] [--top N]`: the heap's self size by
 * object kind (V8's node type and constructor or string kind), largest first; with BEFORE, the growth from
 * it. For finding what holds a node's bytes (heap-probe.ts writes the snapshots with
 * IMDGO_SCALE_HEAP_SNAPSHOTS=DIR).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] } };
  readonly nodes: number[];
  readonly strings: string[];
}

/** Self bytes and object count per kind. */
export function sizeByKind(snapshot: Snapshot): Map<string, { bytes: number; count: number }> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const kind = types[snapshot.nodes[i + type]!]!;
    // Strings by kind only: their text would make every one its own row.
    const label =
      kind === 'object' || kind === 'closure'
        ? `${kind} ${snapshot.strings[snapshot.nodes[i + name]!]}`
        : kind;
    const entry = out.get(label) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[i + size]!;
    entry.count++;
    out.set(label, entry);
  }
  return out;
}

function load(file: string): Map<string, { bytes: number; count: number }> {
  return sizeByKind(JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  if (positionals.length < 1) {
    console.error('usage: node bench/scale/heap-top.ts AFTER.heapsnapshot [BEFORE.heapsnapshot] [--top N]');
    process.exit(2);
  }
  const after = load(positionals[0]!);
  const before = positionals[1] === undefined ? new Map() : load(positionals[1]);
  const rows = [...after].map(([kind, { bytes, count }]) => ({
    kind,
    bytes: bytes - (before.get(kind)?.bytes ?? 0),
    count: count - (before.get(kind)?.count ?? 0),
  }));
  rows.sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  console.log(`total ${(total / 2 ** 20).toFixed(2)} MiB${before.size > 0 ? ' grown' : ''}`);
  for (const row of rows.slice(0, Number(values.top))) {
    console.log(
      `${(row.bytes / 2 ** 10).toFixed(0).padStart(9)} KiB ${String(row.count).padStart(8)}  ${row.kind}`,
    );
  }
}
