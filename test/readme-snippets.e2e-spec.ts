import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { typeCheck } from './support/type-check.ts';

/**
 * Every ```ts block of the READMEs (the repository's and the npm package's) is type-checked against the
 * library, as a user's file would be. Each block is a whole ES module: it imports what it uses
 * (`declare const store: ImdgoStore;` stands in for an injected value), so nothing is prepended to it and a
 * tsc error's line maps straight to a README line.
 */
const READMES = ['README.md', 'libs/imdgo/README.md'];

interface Snippet {
  readonly readme: string;
  /** README line of the block's first code line. */
  readonly line: number;
  readonly file: string;
  readonly code: string;
}

function extractSnippets(readme: string, text: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    if (end === -1) throw new Error(`${readme}:${i + 1}: unterminated code block`);
    const file = `${readme.replaceAll('/', '-').replace(/\.md$/, '')}-line-${i + 2}.ts`;
    snippets.push({ readme, line: i + 2, file, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return snippets;
}

describe('README TypeScript snippets', () => {
  it('type-check against the library', async () => {
    const snippets: Snippet[] = [];
    for (const readme of READMES) {
      const text = await readFile(fileURLToPath(new URL(`../${readme}`, import.meta.url)), 'utf8');
      const found = extractSnippets(readme, text);
      expect(found.length, readme).toBeGreaterThan(0);
      snippets.push(...found);
    }
    // One tsc run for all: each run type-checks the whole library.
    const errors = await typeCheck(Object.fromEntries(snippets.map((s) => [s.file, `${s.code}\n`])));
    const located = errors.map((error) => {
      const snippet = snippets.find((s) => s.file === error.file);
      const where = snippet ? `${snippet.readme}:${snippet.line + error.line - 1}` : error.file;
      return `${where}:${error.column} ${error.message}`;
    });
    expect(located).toEqual([]);
  }, 120_000);
});
