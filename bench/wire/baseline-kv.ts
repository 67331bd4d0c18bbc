/** The Map behind the baseline servers of paired-ab.ts, answering with the demo's response shapes. */
export class BaselineKv {
  private readonly entries = new Map<string, { value: unknown; version: number; revision: number }>();
  private revision = 0;

  put(key: string, value: unknown): { key: string; revision: number; previous: unknown } {
    const previous = this.entries.get(key);
    this.revision++;
    this.entries.set(key, { value, version: (previous?.version ?? 0) + 1, revision: this.revision });
    return { key, revision: this.revision, previous: previous?.value ?? null };
  }

  get(key: string): object | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const { value, version, revision } = entry;
    return { key, value, version, createRevision: revision, modRevision: revision, expiresAt: null };
  }
}

/** `--http-port N` among the demo's arguments. */
export function baselinePort(): number {
  const at = process.argv.indexOf('--http-port');
  return Number(process.argv[at + 1]);
}
