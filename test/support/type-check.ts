import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export interface TscError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** `TS2558: Expected 0 type arguments, but got 1.` */
  readonly message: string;
}

/**
 * Type-checks `files` (name → source, ES modules) as a user's app would, with the library's source standing
 * in for the installed package (`imdgo` and its sub-entries resolve to their source), and returns tsc's errors. Output tsc
 * prints that is not a file error (a broken setup) is thrown.
 */
export async function typeCheck(files: Readonly<Record<string, string>>): Promise<TscError[]> {
  const dir = await mkdtemp(join(tmpdir(), 'imdgo-tsc-'));
  try {
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    for (const [name, source] of Object.entries(files)) await writeFile(join(dir, name), source);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig(Object.keys(files))));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const output = await run(join(root, 'node_modules/.bin/node'), [tsc, '-p', dir, '--pretty', 'false'], {
      cwd: dir,
    }).then(
      (result) => result.stdout,
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    return parse(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function tsconfig(files: readonly string[]): object {
  return {
    compilerOptions: {
      target: 'es2023',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['es2023'],
      types: ['node'],
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
      // As vitest.config.ts aliases them; an entry whose file does not exist only fails a file importing it.
      paths: {
        imdgo: [join(root, 'libs/imdgo/src/index.ts')],
        'imdgo/terminus': [join(root, 'libs/imdgo/src/terminus.ts')],
        'imdgo/metrics': [join(root, 'libs/imdgo/src/metrics.ts')],
        'imdgo/testing': [join(root, 'libs/imdgo/testing/index.ts')],
      },
    },
    files,
  };
}

function parse(output: string): TscError[] {
  const errors: TscError[] = [];
  for (const line of output.split('\n').filter((text) => text.trim() !== '')) {
    // Continuation lines of a multi-line message are indented.
    if (/^\s/.test(line) && errors.length > 0) continue;
    const match = /^(.+?)\((\d+),(\d+)\): error (TS\d+: .*)$/.exec(line);
    if (!match) throw new Error(`tsc printed something other than file errors:\n${output}`);
    errors.push({ file: match[1]!, line: Number(match[2]), column: Number(match[3]), message: match[4]! });
  }
  return errors;
}
