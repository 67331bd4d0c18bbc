/**
 * Loaded into every node of the scale benchmark with `--expose-gc --import`: on SIGWINCH the node collects
 * garbage and writes its memory figures to `$IMDGO_SCALE_HEAP_DIR/<pid>.json`, so that the benchmark reads
 * the live heap after loading keys rather than whatever garbage the load left behind.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.IMDGO_SCALE_HEAP_DIR;
const gc = (globalThis as { gc?: () => void }).gc;
if (dir === undefined || gc === undefined) {
  throw new Error('heap-probe needs IMDGO_SCALE_HEAP_DIR and --expose-gc');
}
// SIGWINCH because its default action is to do nothing, and Nest's shutdown hooks take SIGUSR2.
process.on('SIGWINCH', () => {
  gc();
  const file = join(dir, `${process.pid}.json`);
  // Renamed into place, so the reader never sees half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()));
  renameSync(`${file}.tmp`, file);
});
