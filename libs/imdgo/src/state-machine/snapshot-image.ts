import { Packr, Unpackr } from 'msgpackr';
import { msgpackOptions } from '../codec/msgpack-options.ts';
import { detachStrings } from './detach-strings.ts';
import type { GridMetaExport } from './grid-meta.ts';
import { kvRecord } from './kv-record.ts';
import type { LockTableExport } from './lock-table.ts';
import { RecordTable, type FrozenRecords } from './record-table.ts';
import type { SessionExport } from './session-table.ts';

/** A frozen copy of the state machine, from which an image is encoded at leisure. */
export interface StateCapture {
  readonly appliedIndex: number;
  /** The time of the latest stamped entry applied: what reads, TTLs and session expiry go by. */
  readonly logTime: number;
  readonly sessions: SessionExport;
  readonly locks: LockTableExport;
  readonly grid: GridMetaExport;
  readonly maps: readonly [string, FrozenRecords][];
}

type RecordRow = [
  key: string,
  value: unknown,
  version: number,
  created: number,
  modified: number,
  expiresAt: number | null,
  size: number,
];

interface ImageHeader {
  readonly format: 2;
  readonly appliedIndex: number;
  readonly logTime: number;
  readonly sessions: SessionExport;
  /** Absent in the images of an imdgo without locks. */
  readonly locks?: LockTableExport;
  /** Absent in the images of an imdgo without partitions. */
  readonly grid?: GridMetaExport;
}

interface ImageChunk {
  readonly map: string;
  readonly rows: RecordRow[];
}

const packr = new Packr(msgpackOptions());
const unpackr = new Unpackr(msgpackOptions());

/**
 * The image as a sequence of msgpack values (a header, then chunks of rows), produced one chunk at a time
 * so the driver can yield to the event loop between chunks instead of stalling writes.
 */
export function* encodeImageChunks(capture: StateCapture, rowsPerChunk = 10_000): Generator<Uint8Array> {
  const header: ImageHeader = {
    format: 2,
    appliedIndex: capture.appliedIndex,
    logTime: capture.logTime,
    sessions: capture.sessions,
    locks: capture.locks,
    grid: capture.grid,
  };
  yield packr.pack(header);
  for (const [map, records] of capture.maps) {
    let rows: RecordRow[] = [];
    for (const [key, r] of records) {
      rows.push([key, r.value, r.version, r.createRevision, r.modRevision, r.expiresAt ?? null, r.size]);
      if (rows.length === rowsPerChunk) {
        yield packr.pack({ map, rows } satisfies ImageChunk);
        rows = [];
      }
    }
    if (rows.length > 0) yield packr.pack({ map, rows } satisfies ImageChunk);
  }
}

export function encodeImage(capture: StateCapture): Uint8Array {
  return Buffer.concat([...encodeImageChunks(capture)]);
}

/** The state in `image`, its records put in tables `newTable` makes. */
export function decodeImage(
  image: Uint8Array,
  newTable: () => RecordTable,
): {
  appliedIndex: number;
  logTime: number;
  sessions: SessionExport;
  locks: LockTableExport | undefined;
  grid: GridMetaExport | undefined;
  maps: Map<string, RecordTable>;
} {
  const [header, ...chunks] = unpackr.unpackMultiple(image) as [ImageHeader, ...ImageChunk[]];
  const format = (header as { format?: unknown } | undefined)?.format;
  if (format === 1) throw new Error('a snapshot image of an older imdgo (format 1), without log time');
  if (format !== 2) throw new Error('not an imdgo snapshot image');
  const maps = new Map<string, RecordTable>();
  for (const { map, rows } of chunks) {
    let records = maps.get(map);
    if (!records) {
      records = newTable();
      maps.set(map, records);
    }
    for (const [key, value, version, createRevision, modRevision, expiresAt, size] of rows) {
      // Copied: a slice would keep its whole chunk's text alive while the record stays young.
      records.set(key, kvRecord(detachStrings(value), version, createRevision, modRevision, expiresAt, size));
    }
  }
  return {
    appliedIndex: header.appliedIndex,
    logTime: header.logTime,
    sessions: header.sessions,
    locks: header.locks,
    grid: header.grid,
    maps,
  };
}
