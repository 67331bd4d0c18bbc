/**
 * Loaded into every node of the scale benchmark with `--expose-gc --import`: on SIGWINCH the node collects
 * garbage and writes its memory figures to `$IMDGO_SCALE_HEAP_DIR/<pid>.json`, so that the benchmark reads
 * the live heap after loading keys rather than whatever garbage the load left behind.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const dir = process.env.IMDGO_SCALE_HEAP_DIR;
/** Where to write a heap snapshot at each report, for bench/scale/heap-top.ts; unset in the table. */
const snapshots = process.env.IMDGO_SCALE_HEAP_SNAPSHOTS;
let reports = 0;
const gc = (globalThis as { gc?: () => void }).gc;
if (dir === undefined || gc === undefined) {
  throw new Error('heap-probe needs IMDGO_SCALE_HEAP_DIR and --expose-gc');
}
// SIGWINCH because its default action is to do nothing, and Nest's shutdown hooks take SIGUSR2.
process.on('SIGWINCH', () => {
  gc();
  const file = join(dir, `${process.pid}.json`);
  // Compiled code and bytecode (the code and trusted spaces) grow as a load warms the process up, by the
  // same on every node whatever it holds: reported apart, so that data can be told from warm-up.
  const codeBytes = getHeapSpaceStatistics()
    .filter((space) => /^(code|trusted)(_large_object)?_space$/.test(space.space_name))
    .reduce((sum, space) => sum + space.space_used_size, 0);
  // Renamed into place, so the reader never sees half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...process.memoryUsage(), codeBytes }));
  reports++;
  if (snapshots !== undefined) writeHeapSnapshot(join(snapshots, `${process.pid}-${reports}.heapsnapshot`));
  renameSync(`${file}.tmp`, file);
});
