import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { nodeFileSystem, type FileSystem } from './file-system.ts';

/**
 * This node's incarnation, kept beside its data: it changes only when the data directory is new or was
 * wiped, which is exactly when the node has lost what it promised and must rejoin as a new member.
 */
export async function persistentIncarnation(
  dir: string,
  options: { readonly fs?: FileSystem } = {},
): Promise<string> {
  const fs = options.fs ?? nodeFileSystem;
  await fs.mkdir(dir);
  const path = join(dir, 'incarnation');
  try {
    return (await fs.readFile(path)).toString('utf8').trim();
  } catch {
    const incarnation = randomUUID();
    const temp = `${path}.tmp`;
    const file = await fs.open(temp, 'w');
    try {
      await file.write(Buffer.from(incarnation));
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temp, path);
    return incarnation;
  }
}
