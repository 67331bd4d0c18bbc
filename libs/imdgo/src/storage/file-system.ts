import { mkdir, open, readdir, readFile, rename, rm, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';

/** An open file. What is written reaches the disk only when synced; its name in the directory needs `syncDir`. */
export interface WritableFile {
  /** Writes all of `data` at the file's position: its end in mode 'a', after the previous write in mode 'w'. */
  write(data: Uint8Array): Promise<void>;
  /** Makes the file's data and size durable (fdatasync). */
  datasync(): Promise<void>;
  /** Makes the file's data and all of its metadata durable (fsync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations durable storage needs, injectable so that the simulator can run the real `FileStorage`
 * over a disk that loses what was not synced when it crashes.
 */
export interface FileSystem {
  /** Creates `path` and any missing parents; resolves to the first directory it created (undefined if none). */
  mkdir(path: string): Promise<string | undefined>;
  /** The names in a directory, in no particular order. */
  readdir(path: string): Promise<string[]>;
  /** Rejects with an error whose `code` is 'ENOENT' when there is no such file. */
  readFile(path: string): Promise<Buffer>;
  /** 'w' creates the file or empties it; 'a' creates it if missing and appends to it. */
  open(path: string, mode: 'w' | 'a'): Promise<WritableFile>;
  truncate(path: string, length: number): Promise<void>;
  /** Replaces `to` atomically; both paths are in the same directory. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; a missing one is not an error. */
  rm(path: string): Promise<void>;
  /** fsyncs a directory: the entries created, renamed and removed in it become durable. */
  syncDir(path: string): Promise<void>;
}

export const nodeFileSystem: FileSystem = {
  mkdir: (path) => mkdir(path, { recursive: true }),
  readdir: (path) => readdir(path),
  readFile: (path) => readFile(path),
  async open(path, mode) {
    const handle = await open(path, mode);
    return {
      async write(data) {
        for (let offset = 0; offset < data.byteLength;) {
          const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset, null);
          offset += bytesWritten;
        }
      },
      datasync: () => handle.datasync(),
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  truncate: (path, length) => truncate(path, length),
  rename: (from, to) => rename(from, to),
  rm: (path) => rm(path, { force: true }),
  async syncDir(path) {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/**
 * `mkdir -p` whose result survives a crash: a new directory's name is durable only once its parent is
 * synced, so each parent of a created directory is synced, deepest first.
 */
export async function mkdirDurable(fs: FileSystem, path: string): Promise<void> {
  const first = await fs.mkdir(path);
  if (first === undefined) return;
  for (let created = path; created !== dirname(created); created = dirname(created)) {
    await fs.syncDir(dirname(created));
    if (created === first) return;
  }
}
