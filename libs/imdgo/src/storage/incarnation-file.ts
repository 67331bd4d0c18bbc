import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mkdirDurable, nodeFileSystem, type FileSystem } from './file-system.ts';

/**
 * This node's incarnation, kept beside its data: it changes only when the data directory is new or was
 * wiped, which is exactly when the node has lost what it promised and must rejoin as a new member.
 */
export async function persistentIncarnation(
  dir: string,
  options: {
    readonly fs?: FileSystem;
    /** Makes a new incarnation id; default a random UUID (the simulator passes a seeded one). */
    readonly newId?: () => string;
  } = {},
): Promise<string> {
  const fs = options.fs ?? nodeFileSystem;
  await mkdirDurable(fs, dir);
  const path = join(dir, 'incarnation');
  try {
    return (await fs.readFile(path)).toString('utf8').trim();
  } catch (error) {
    // Only a missing file means new data; a failed read must not pass for a wiped directory.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const incarnation = (options.newId ?? randomUUID)();
    const temp = `${path}.tmp`;
    const file = await fs.open(temp, 'w');
    try {
      await file.write(Buffer.from(incarnation));
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temp, path);
    // The new name is durable only once the directory is synced.
    await fs.syncDir(dir);
    return incarnation;
  }
}
