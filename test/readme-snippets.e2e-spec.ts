import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { typeCheck } from './support/type-check.ts';

/**
 * Every ```ts block of README.md is type-checked against the library, as a user's file would be. Each block
 * is a whole ES module: it imports what it uses (`declare const store: ImdgoStore;` stands in for an
 * injected value), so nothing is prepended to it and a tsc error's line maps straight to a README line.
 */
interface Snippet {
  /** README line of the block's first code line. */
  readonly line: number;
  readonly file: string;
  readonly code: string;
}

function extractSnippets(readme: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const end = lines.findIndex((text, j) => j > i && text.startsWith('```'));
    if (end === -1) throw new Error(`README.md:${i + 1}: unterminated code block`);
    snippets.push({ line: i + 2, file: `readme-line-${i + 2}.ts`, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return snippets;
}

describe('README TypeScript snippets', () => {
  it('type-check against the library', async () => {
    const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const snippets = extractSnippets(readme);
    expect(snippets.length).toBeGreaterThan(0);
    const errors = await typeCheck(Object.fromEntries(snippets.map((s) => [s.file, `${s.code}\n`])));
    const located = errors.map((error) => {
      const snippet = snippets.find((s) => s.file === error.file);
      const where = snippet ? `README.md:${snippet.line + error.line - 1}` : error.file;
      return `${where}:${error.column} ${error.message}`;
    });
    expect(located).toEqual([]);
  }, 120_000);
});
