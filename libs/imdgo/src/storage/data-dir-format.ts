import { join } from 'node:path';
import { mkdirDurable, type FileSystem } from './file-system.ts';
import { StorageLayoutError } from './storage-errors.ts';

/**
 * The format of what this release writes in a data directory: its log records, entries and snapshots.
 * Raise it whenever a release changes any of them, so that no release reads what another wrote.
 */
export const DATA_FORMAT_VERSION = 1;
/** The marker, in the data directory itself. */
export const FORMAT_FILE = 'imdgo-format.json';

/** How the directory is laid out: FileStorage's one log (`partitions: 1`), or SharedWal's one log per node. */
export type DataLayout = 'partitions-1' | 'partitioned';

interface FormatMarker {
  readonly format: number;
  readonly layout: DataLayout;
}

/** The logs and snapshots of either layout, and of releases before the marker; nothing else is imdgo data. */
const DATA_NAMES = /^(wal|snap|node-wal|group-\d+)$/;

const LAYOUT_NAMES: Record<DataLayout, string> = {
  'partitions-1': 'partitions: 1',
  partitioned: 'partitions > 1',
};

/**
 * Makes sure `dir` holds data this release can read in `layout`, or nothing yet: then marks it, durably,
 * before any log file exists, so that a crash leaves either no marker and no data or the marker. Throws a
 * StorageLayoutError naming the file otherwise: a directory with imdgo data but no marker (an earlier
 * release wrote it), another format, or the other layout. The incarnation file is not data: it is written
 * before the storage opens, and means the same in every release.
 */
export async function checkDataDirFormat(fs: FileSystem, dir: string, layout: DataLayout): Promise<void> {
  await mkdirDurable(fs, dir);
  const path = join(dir, FORMAT_FILE);
  let text: string;
  try {
    text = (await fs.readFile(path)).toString('utf8');
  } catch (error) {
    // Only a missing file means an unmarked directory: a failed read must not pass for one.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const data = (await fs.readdir(dir)).filter((name) => DATA_NAMES.test(name)).sort();
    if (data.length > 0) {
      throw new StorageLayoutError(
        `${join(dir, data[0]!)}: this data directory holds imdgo data but no ${FORMAT_FILE}: an earlier ` +
          `imdgo release wrote it, and this release (data format ${DATA_FORMAT_VERSION}) cannot read it. ` +
          'Every member must run the same release: start this node with an empty dataDir, or with the ' +
          'release that wrote it',
      );
    }
    await writeMarker(fs, dir, path, { format: DATA_FORMAT_VERSION, layout });
    return;
  }
  const marker = parseObject(text);
  if (marker === null || !Number.isSafeInteger(marker.format)) {
    throw new StorageLayoutError(
      `${path}: not an imdgo format marker: it is damaged, or imdgo did not write it`,
    );
  }
  if (marker.format !== DATA_FORMAT_VERSION) {
    throw new StorageLayoutError(
      `${path}: this data directory is in data format ${marker.format as number}, which this imdgo release ` +
        `(format ${DATA_FORMAT_VERSION}) cannot read. Every member must run the same release: start this ` +
        'node with an empty dataDir, or with the release that wrote it',
    );
  }
  if (marker.layout !== layout) {
    const written = LAYOUT_NAMES[marker.layout as DataLayout] ?? `layout ${JSON.stringify(marker.layout)}`;
    throw new StorageLayoutError(
      `${path}: this data directory was written by a node started with ${written}, this one has ` +
        `${LAYOUT_NAMES[layout]}. The partition count cannot change on an existing data directory: start ` +
        'with the partitions it was written with',
    );
  }
}

/** Written whole under a temporary name, synced and renamed, then the directory synced: never torn. */
async function writeMarker(fs: FileSystem, dir: string, path: string, marker: FormatMarker): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await fs.open(temp, 'w');
  try {
    await file.write(Buffer.from(`${JSON.stringify(marker)}\n`));
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temp, path);
  await fs.syncDir(dir);
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
