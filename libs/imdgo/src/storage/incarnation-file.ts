import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * This node's incarnation, kept beside its data: it changes only when the data directory is new or was
 * wiped, which is exactly when the node has lost what it promised and must rejoin as a new member.
 */
export async function persistentIncarnation(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'incarnation');
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const incarnation = randomUUID();
    const temp = `${path}.tmp`;
    const file = await open(temp, 'w');
    try {
      await file.writeFile(incarnation);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    return incarnation;
  }
}
