import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/raft/random.ts';
import { SimCrashError, SimFileSystem, type SimFileSystemOptions } from './sim-file-system.ts';

const SEEDS = 200;

/** A disk whose /d directory is durable, so that tests see only what happens inside it. */
async function diskWithDir(
  options: Partial<SimFileSystemOptions> & { seed?: number } = {},
): Promise<SimFileSystem> {
  const fs = new SimFileSystem({ random: new SeededRandom(options.seed ?? 1), ...options });
  await fs.mkdir('/d');
  await fs.syncDir('/');
  return fs;
}

async function crashAndRead(fs: SimFileSystem, path: string): Promise<string | null> {
  fs.crash();
  const after = fs.restart();
  try {
    return (await after.readFile(path)).toString();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Writes six files, syncing half, lists them and crashes: the files that survived, and the listing. */
async function writeListAndCrash(seed: number): Promise<{ files: [string, string][]; listing: string[] }> {
  const fs = await diskWithDir({ seed });
  for (let i = 0; i < 6; i++) {
    const file = await fs.open(`/d/f${i}`, 'a');
    await file.write(Buffer.from(`data of file ${i}`));
    if (i % 2 === 0) await file.datasync();
  }
  const listing = await fs.readdir('/d');
  fs.crash();
  const files = [...fs.restart().durableFiles()].map(([p, b]): [string, string] => [p, b.toString()]);
  return { files, listing };
}

describe('SimFileSystem', () => {
  it('reads back what was written, and reports missing files and directories as node does', async () => {
    const fs = new SimFileSystem({ random: new SeededRandom(1) });
    expect(await fs.mkdir('/a/b/c')).toBe('/a');
    expect(await fs.mkdir('/a/b')).toBeUndefined();
    const file = await fs.open('/a/b/f', 'a');
    await file.write(Buffer.from('one '));
    await file.write(Buffer.from('two'));
    expect((await fs.readFile('/a/b/f')).toString()).toBe('one two');
    const rewrite = await fs.open('/a/b/f', 'w');
    await rewrite.write(Buffer.from('new'));
    expect((await fs.readFile('/a/b/f')).toString()).toBe('new');
    await fs.truncate('/a/b/f', 2);
    expect((await fs.readFile('/a/b/f')).toString()).toBe('ne');
    expect((await fs.readdir('/a/b')).sort()).toEqual(['c', 'f']);
    await expect(fs.readFile('/a/missing')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.open('/nowhere/f', 'w')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.readFile('/a/b')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.rename('/a/b/f', '/a/f')).rejects.toMatchObject({ code: 'EXDEV' });
    await rewrite.close();
    await expect(rewrite.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'EBADF' });
    await fs.rm('/a/b/f');
    await fs.rm('/a/b/f');
    expect(await fs.readdir('/a/b')).toEqual(['c']);
  });

  it('keeps what was synced and, of the rest, a prefix in order, the last part of it possibly torn', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const fs = await diskWithDir({ seed });
      const file = await fs.open('/d/f', 'a');
      await file.write(Buffer.from('synced|'));
      await file.datasync();
      await fs.syncDir('/d');
      await file.write(Buffer.from('second|'));
      await file.write(Buffer.from('third'));
      const survived = await crashAndRead(fs, '/d/f');
      expect(survived?.startsWith('synced|')).toBe(true);
      const rest = survived!.slice('synced|'.length);
      // A torn write may end in zeros up to its full length: its size landed, not all of its data.
      const kept = rest.replace(/\0+$/, '');
      const zeros = rest.length - kept.length;
      expect('second|third'.startsWith(kept)).toBe(true);
      expect([0, 'second|'.length - kept.length, 'second|third'.length - kept.length]).toContain(zeros);
      if (zeros > 0) outcomes.add('torn, size landed');
      else if (kept === '') outcomes.add('lost');
      else if (kept === 'second|third') outcomes.add('all kept');
      else if (kept === 'second|') outcomes.add('one kept');
      else outcomes.add('torn');
    }
    expect([...outcomes].sort()).toEqual(['all kept', 'lost', 'one kept', 'torn', 'torn, size landed']);
  });

  it('makes a new name durable only when its directory is synced, whatever was synced in the file', async () => {
    const outcomes = new Set<string | null>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const fs = await diskWithDir({ seed });
      const file = await fs.open('/d/f', 'w');
      await file.write(Buffer.from('data'));
      await file.sync();
      outcomes.add(await crashAndRead(fs, '/d/f'));

      const synced = await diskWithDir({ seed });
      const again = await synced.open('/d/f', 'w');
      await again.write(Buffer.from('data'));
      await again.sync();
      await synced.syncDir('/d');
      expect(await crashAndRead(synced, '/d/f')).toBe('data');
    }
    expect(outcomes).toEqual(new Set([null, 'data']));
  });

  it('lands a rename or a removal whole or not at all, durably once the directory is synced', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const fs = await diskWithDir({ seed });
      for (const [name, text] of [
        ['old', 'v1'],
        ['tmp', 'v2'],
      ]) {
        const file = await fs.open(`/d/${name}`, 'w');
        await file.write(Buffer.from(text!));
        await file.sync();
      }
      await fs.syncDir('/d');
      await fs.rename('/d/tmp', '/d/old');
      fs.crash();
      const after = fs.restart();
      const names = (await after.readdir('/d')).sort();
      const old = (await after.readFile('/d/old')).toString();
      outcomes.add(`${names.join(',')}=${old}`);
    }
    expect([...outcomes].sort()).toEqual(['old,tmp=v1', 'old=v2']);

    const fs = await diskWithDir();
    const file = await fs.open('/d/f', 'w');
    await file.sync();
    await fs.syncDir('/d');
    await fs.rm('/d/f');
    await fs.syncDir('/d');
    expect(await crashAndRead(fs, '/d/f')).toBeNull();
  });

  it('crashes before the operation the hook picks: it and everything after reject, nothing more lands', async () => {
    const fs = await diskWithDir({
      random: { int: (maxExclusive) => maxExclusive - 1 },
      beforeOperation: ({ name, path }) => (name === 'write' && path === '/d/b' ? 'crash' : undefined),
    });
    const a = await fs.open('/d/a', 'a');
    await a.write(Buffer.from('a'));
    const b = await fs.open('/d/b', 'a');
    await expect(b.write(Buffer.from('b'))).rejects.toBeInstanceOf(SimCrashError);
    expect(fs.isCrashed).toBe(true);
    await expect(a.datasync()).rejects.toBeInstanceOf(SimCrashError);
    await expect(fs.readdir('/d')).rejects.toBeInstanceOf(SimCrashError);
    const after = fs.restart();
    // This random source lets the OS flush every pending operation: all that was done before the crash, no more.
    expect((await after.readFile('/d/a')).toString()).toBe('a');
    expect((await after.readFile('/d/b')).toString()).toBe('');
  });

  it('delays operations through the injected scheduler, and an operation in flight at a crash never lands', async () => {
    const timers: { at: number; run: () => void }[] = [];
    const fs = new SimFileSystem({
      random: new SeededRandom(1),
      schedule: (delayMs, run) => timers.push({ at: delayMs, run }),
      maxLatencyMs: 5,
    });
    const flush = async (): Promise<void> => {
      while (timers.length > 0) {
        timers.sort((x, y) => x.at - y.at);
        timers.shift()!.run();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const completed = async <T>(operation: Promise<T>): Promise<T> => {
      await flush();
      return operation;
    };
    await completed(fs.mkdir('/d'));
    await completed(fs.syncDir('/'));
    const file = await completed(fs.open('/d/f', 'a'));
    await completed(fs.syncDir('/d'));
    let written = false;
    const writing = file.write(Buffer.from('late')).then(() => (written = true));
    const durable = file.datasync();
    expect(timers.length).toBe(2);
    fs.crash();
    const rejected = Promise.all([
      expect(writing).rejects.toBeInstanceOf(SimCrashError),
      expect(durable).rejects.toBeInstanceOf(SimCrashError),
    ]);
    await flush();
    await rejected;
    expect(written).toBe(false);
    expect(fs.restart().durableFiles().get('/d/f')?.toString()).toBe('');
  });

  it('loses for good the writes an EIO from fsync covered: a later fsync leaves a hole', async () => {
    let failSync = true;
    const fs = await diskWithDir({
      beforeOperation: ({ name }) => (failSync && name === 'datasync' ? 'eio' : undefined),
    });
    const file = await fs.open('/d/f', 'a');
    await fs.syncDir('/d');
    await file.write(Buffer.from('lost'));
    await expect(file.datasync()).rejects.toMatchObject({ code: 'EIO' });
    expect((await fs.readFile('/d/f')).toString()).toBe('lost');
    failSync = false;
    await file.write(Buffer.from('kept'));
    await file.datasync();
    fs.crash();
    expect(fs.restart().durableFiles().get('/d/f')).toEqual(Buffer.from('\0\0\0\0kept'));
  });

  it('replays a seed exactly, listing directories in a seeded order', async () => {
    expect(await writeListAndCrash(7)).toEqual(await writeListAndCrash(7));
    const listings = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) listings.add((await writeListAndCrash(seed)).listing.join());
    expect(listings.size).toBeGreaterThan(1);
  });
});
