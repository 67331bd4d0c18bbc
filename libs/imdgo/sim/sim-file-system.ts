import { posix } from 'node:path';
import type { RandomSource } from '../src/raft/random.ts';
import type { FileSystem, WritableFile } from '../src/storage/file-system.ts';

/**
 * A deterministic in-memory disk behind the production `FileSystem` interface, so that the simulator runs the
 * real `FileStorage` and can crash it between any two file operations.
 *
 * Crash model: strict POSIX, the weakest guarantees a Linux file system gives, so code correct here is
 * correct on ext4, xfs and btrfs alike.
 * - A file's data and size are durable only up to its last `sync`/`datasync`. The writes and truncations
 *   since then are pending.
 * - A directory's entries (files and directories created, renamed, removed in it) are durable only up to its
 *   last `syncDir`; syncing a file does not make its name durable, nor does syncing a directory make its own
 *   name in its parent durable. A file whose name is lost on a crash is gone, whatever was synced in it.
 * - `crash()` keeps, for each file and each directory, the durable state plus a prefix of its pending
 *   operations in the order they were made (the OS may have flushed some), and may tear the first operation
 *   it does not keep: a random prefix of that write's bytes lands, and the rest of it may read as zeros (the
 *   file's new size landed before its data, as xfs or ext4 data=writeback allow). Each choice is drawn from
 *   the injected random source, so a seed replays a crash exactly. Pending operations never land out of
 *   order.
 * - An injected EIO on `sync`/`datasync` loses that file's pending writes for good (as Linux marks the failed
 *   pages clean): reads still show them, but no later sync makes them durable, and later writes land around
 *   the hole. That is why storage must stop on a failed sync rather than retry.
 * - Renaming across directories is not modelled (it rejects); storage renames only within a directory.
 *
 * Timing: without `schedule`, an operation takes effect and resolves on the microtask queue. With it, each
 * operation waits a random 0..`maxLatencyMs` through `schedule(delayMs, run)` (e.g. the simulator's virtual
 * `setTimeout`), then takes effect and resolves; concurrent operations may thus finish out of order.
 *
 * Faults: `beforeOperation` is called synchronously when each operation starts, with its index; returning
 * 'crash' crashes the disk before that operation, 'eio' makes that operation fail with EIO. After a crash,
 * this instance rejects every operation (and every one still in flight) with `SimCrashError`, and nothing
 * more reaches the disk; `restart()` mounts what survived as a new instance.
 */
export interface SimFileSystemOptions {
  readonly random: RandomSource;
  /** Runs `run` after `delayMs` of (virtual) time. Omitted: operations complete on the microtask queue. */
  readonly schedule?: (delayMs: number, run: () => void) => void;
  /** Upper bound of an operation's latency when `schedule` is given. Default 1. */
  readonly maxLatencyMs?: number;
  readonly beforeOperation?: (operation: SimFileOperation) => SimFault | undefined;
}

export type SimFileOperationName =
  | 'mkdir'
  | 'readdir'
  | 'readFile'
  | 'open'
  | 'write'
  | 'datasync'
  | 'sync'
  | 'close'
  | 'truncate'
  | 'rename'
  | 'rm'
  | 'syncDir';

export interface SimFileOperation {
  /** 0 for this instance's first operation, counting every operation started since. */
  readonly index: number;
  readonly name: SimFileOperationName;
  readonly path: string;
}

export type SimFault = 'crash' | 'eio';

export class SimCrashError extends Error {
  override readonly name = 'SimCrashError';
  readonly code = 'ECRASHED';
}

type PendingWrite =
  | { readonly kind: 'write'; readonly offset: number; readonly data: Buffer }
  | { readonly kind: 'truncate'; readonly length: number };

/** A byte array that grows in place, so that appending to a long file costs the size of the append. */
class Bytes {
  private buffer = Buffer.alloc(0);
  length = 0;

  write(offset: number, data: Uint8Array): void {
    const end = offset + data.byteLength;
    this.reserve(end);
    // A write past the end leaves zeros before it, as a file hole.
    if (offset > this.length) this.buffer.fill(0, this.length, offset);
    this.buffer.set(data, offset);
    this.length = Math.max(this.length, end);
  }

  truncate(length: number): void {
    this.reserve(length);
    if (length > this.length) this.buffer.fill(0, this.length, length);
    this.length = length;
  }

  apply(writes: readonly PendingWrite[]): void {
    for (const write of writes) {
      if (write.kind === 'write') this.write(write.offset, write.data);
      else this.truncate(write.length);
    }
  }

  copy(): Bytes {
    const copy = new Bytes();
    copy.write(0, this.buffer.subarray(0, this.length));
    return copy;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  private reserve(length: number): void {
    if (length <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(length, this.buffer.length * 2, 64));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

class FileNode {
  /** What the disk holds. */
  durable = new Bytes();
  /** What reads see. */
  content = new Bytes();
  /** Since the last sync, in order; applied to `durable` they give what a sync would make durable. */
  pending: PendingWrite[] = [];
}

type DirOp =
  | { readonly kind: 'link'; readonly name: string; readonly node: Node }
  | { readonly kind: 'unlink'; readonly name: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string };

class DirNode {
  durable = new Map<string, Node>();
  entries = new Map<string, Node>();
  pending: DirOp[] = [];

  apply(op: DirOp): void {
    this.pending.push(op);
    applyDirOp(this.entries, op);
  }
}

type Node = FileNode | DirNode;

export class SimFileSystem implements FileSystem {
  private root = new DirNode();
  private operations = 0;
  private crashed = false;
  private readonly options: SimFileSystemOptions;

  constructor(options: SimFileSystemOptions) {
    this.options = options;
  }

  /** How many operations this instance has started, the failed and crashed ones included. */
  get operationCount(): number {
    return this.operations;
  }

  get isCrashed(): boolean {
    return this.crashed;
  }

  /**
   * Power loss: the disk keeps what was synced, plus what the seed lets through of what was not (see the
   * header). Every later operation on this instance rejects. Idempotent.
   */
  crash(): void {
    if (this.crashed) return;
    this.crashed = true;
    const survivor = new DirNode();
    survivor.durable = this.crashDir(this.root);
    survivor.entries = new Map(survivor.durable);
    this.root = survivor;
  }

  /**
   * The disk as it came back from the crash, mounted afresh: the same options but no fault hook unless
   * given one (its operation indexes start from 0 again).
   */
  restart(options: Partial<SimFileSystemOptions> = {}): SimFileSystem {
    if (!this.crashed) throw new Error('restart() needs a crash() first: the disk is still in use');
    const next = new SimFileSystem({ ...this.options, beforeOperation: undefined, ...options });
    next.root = this.root;
    return next;
  }

  mkdir(path: string): Promise<string | undefined> {
    return this.run('mkdir', path, () => {
      let dir = this.root;
      let first: string | undefined;
      let at = '/';
      for (const name of segments(path)) {
        at = posix.join(at, name);
        const child = dir.entries.get(name);
        if (child instanceof FileNode) throw fsError('EEXIST', 'mkdir', path);
        if (child) {
          dir = child;
          continue;
        }
        const created = new DirNode();
        dir.apply({ kind: 'link', name, node: created });
        first ??= at;
        dir = created;
      }
      return first;
    });
  }

  readdir(path: string): Promise<string[]> {
    return this.run('readdir', path, () => {
      const dir = this.lookup(path, 'readdir');
      if (!(dir instanceof DirNode)) throw fsError('ENOTDIR', 'readdir', path);
      return shuffle([...dir.entries.keys()], this.options.random);
    });
  }

  readFile(path: string): Promise<Buffer> {
    return this.run('readFile', path, () => this.file(path, 'open').content.toBuffer());
  }

  open(path: string, mode: 'w' | 'a'): Promise<WritableFile> {
    return this.run('open', path, () => {
      const { dir, name } = this.parent(path, 'open');
      let node = dir.entries.get(name);
      if (node instanceof DirNode) throw fsError('EISDIR', 'open', path);
      if (!node) {
        node = new FileNode();
        dir.apply({ kind: 'link', name, node });
      } else if (mode === 'w') {
        truncateFile(node, 0);
      }
      return this.handle(node, path, mode);
    });
  }

  truncate(path: string, length: number): Promise<void> {
    return this.run('truncate', path, () => truncateFile(this.file(path, 'open'), length));
  }

  rename(from: string, to: string): Promise<void> {
    return this.run('rename', from, () => {
      const source = this.parent(from, 'rename');
      const target = this.parent(to, 'rename');
      if (source.dir !== target.dir)
        throw fsError('EXDEV', 'rename (across directories: not modelled)', from);
      const node = source.dir.entries.get(source.name);
      if (!node) throw fsError('ENOENT', 'rename', from);
      if (target.dir.entries.get(target.name) instanceof DirNode) throw fsError('EISDIR', 'rename', to);
      if (node instanceof DirNode) throw fsError('EISDIR', 'rename (directories: not modelled)', from);
      if (source.name !== target.name)
        source.dir.apply({ kind: 'rename', from: source.name, to: target.name });
    });
  }

  rm(path: string): Promise<void> {
    return this.run('rm', path, () => {
      const { dir, name } = this.parent(path, 'rm');
      const node = dir.entries.get(name);
      if (node instanceof DirNode) throw fsError('EISDIR', 'rm', path);
      if (node) dir.apply({ kind: 'unlink', name });
    });
  }

  syncDir(path: string): Promise<void> {
    return this.run('syncDir', path, () => {
      const dir = this.lookup(path, 'open');
      if (!(dir instanceof DirNode)) throw fsError('ENOTDIR', 'syncDir', path);
      for (const op of dir.pending) applyDirOp(dir.durable, op);
      dir.pending = [];
    });
  }

  /** Every durable file's path and bytes, for tests that inspect what a crash left. */
  durableFiles(): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const walk = (dir: DirNode, at: string): void => {
      for (const [name, node] of dir.durable) {
        const path = posix.join(at, name);
        if (node instanceof DirNode) walk(node, path);
        else files.set(path, node.durable.toBuffer());
      }
    };
    walk(this.root, '/');
    return files;
  }

  private handle(node: FileNode, path: string, mode: 'w' | 'a'): WritableFile {
    let position = 0;
    let closed = false;
    const open = (name: SimFileOperationName): void => {
      if (closed) throw fsError('EBADF', name, path);
    };
    return {
      write: (data) =>
        this.run('write', path, () => {
          open('write');
          const offset = mode === 'a' ? node.content.length : position;
          writeFile(node, offset, Buffer.from(data));
          position = offset + data.byteLength;
        }),
      datasync: () => this.sync('datasync', node, path, open),
      sync: () => this.sync('sync', node, path, open),
      close: () =>
        this.run('close', path, () => {
          open('close');
          closed = true;
        }),
    };
  }

  private sync(
    name: 'sync' | 'datasync',
    node: FileNode,
    path: string,
    open: (name: SimFileOperationName) => void,
  ): Promise<void> {
    return this.run(
      name,
      path,
      () => {
        open(name);
        node.durable.apply(node.pending);
        node.pending = [];
      },
      () => {
        node.pending = [];
      },
    );
  }

  /**
   * Runs one operation: asks the fault hook, waits its latency, then applies `effect` unless the disk
   * crashed meanwhile. `onEio` is what an injected EIO does besides failing.
   */
  private async run<T>(
    name: SimFileOperationName,
    path: string,
    effect: () => T,
    onEio?: () => void,
  ): Promise<T> {
    const index = this.operations++;
    if (this.crashed) throw this.crashError(name, path);
    const fault = this.options.beforeOperation?.({ index, name, path });
    if (fault === 'crash') this.crash();
    if (this.crashed) throw this.crashError(name, path);
    const { schedule, maxLatencyMs = 1 } = this.options;
    if (schedule) {
      const latency = this.options.random.int(maxLatencyMs + 1);
      await new Promise<void>((resolve) => schedule(latency, resolve));
    } else {
      await Promise.resolve();
    }
    if (this.crashed) throw this.crashError(name, path);
    if (fault === 'eio') {
      onEio?.();
      throw fsError('EIO', name, path);
    }
    return effect();
  }

  private crashError(name: SimFileOperationName, path: string): SimCrashError {
    return new SimCrashError(`${name} ${path}: the simulated disk crashed`);
  }

  /** The entries of `dir` that survive, with each surviving node reduced to what survives of it. */
  private crashDir(dir: DirNode): Map<string, Node> {
    const entries = new Map(dir.durable);
    for (const op of dir.pending.slice(0, this.survivingCount(dir.pending.length))) applyDirOp(entries, op);
    for (const node of entries.values()) {
      if (node instanceof DirNode) {
        node.durable = this.crashDir(node);
        node.entries = new Map(node.durable);
        node.pending = [];
      } else {
        this.crashFile(node);
      }
    }
    return entries;
  }

  private crashFile(file: FileNode): void {
    const kept = this.survivingCount(file.pending.length);
    file.durable.apply(file.pending.slice(0, kept));
    const torn = file.pending[kept];
    if (torn?.kind === 'write' && torn.data.length > 1 && this.options.random.int(2) === 0) {
      const landed = Buffer.from(torn.data);
      const cut = 1 + this.options.random.int(torn.data.length - 1);
      const sizeLanded = this.options.random.int(2) === 1;
      landed.fill(0, cut);
      file.durable.write(torn.offset, sizeLanded ? landed : landed.subarray(0, cut));
    }
    file.content = file.durable.copy();
    file.pending = [];
  }

  /** How many of `pending` unsynced operations the OS had flushed: often none, else any prefix. */
  private survivingCount(pending: number): number {
    if (pending === 0) return 0;
    const random = this.options.random;
    return random.int(2) === 0 ? 0 : random.int(pending + 1);
  }

  private lookup(path: string, syscall: string): Node {
    let node: Node = this.root;
    for (const name of segments(path)) {
      const child: Node | undefined = node instanceof DirNode ? node.entries.get(name) : undefined;
      if (!child) throw fsError(node instanceof DirNode ? 'ENOENT' : 'ENOTDIR', syscall, path);
      node = child;
    }
    return node;
  }

  private file(path: string, syscall: string): FileNode {
    const node = this.lookup(path, syscall);
    if (node instanceof DirNode) throw fsError('EISDIR', syscall, path);
    return node;
  }

  private parent(path: string, syscall: string): { dir: DirNode; name: string } {
    const names = segments(path);
    const name = names.pop();
    if (name === undefined) throw fsError('EISDIR', syscall, path);
    const dir = this.lookup(`/${names.join('/')}`, syscall);
    if (!(dir instanceof DirNode)) throw fsError('ENOTDIR', syscall, path);
    return { dir, name };
  }
}

function segments(path: string): string[] {
  if (!posix.isAbsolute(path)) throw new Error(`SimFileSystem needs absolute paths, got '${path}'`);
  return posix
    .normalize(path)
    .split('/')
    .filter((s) => s.length > 0);
}

function applyDirOp(entries: Map<string, Node>, op: DirOp): void {
  if (op.kind === 'link') {
    entries.set(op.name, op.node);
  } else if (op.kind === 'unlink') {
    entries.delete(op.name);
  } else {
    const node = entries.get(op.from);
    // A rename whose source never became durable cannot land either.
    if (!node) return;
    entries.delete(op.from);
    entries.set(op.to, node);
  }
}

function writeFile(file: FileNode, offset: number, data: Buffer): void {
  file.pending.push({ kind: 'write', offset, data });
  file.content.write(offset, data);
}

function truncateFile(file: FileNode, length: number): void {
  file.pending.push({ kind: 'truncate', length });
  file.content.truncate(length);
}

function shuffle<T>(items: T[], random: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}
