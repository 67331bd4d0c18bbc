import { readFileSync } from 'node:fs';

/**
 * Two parts of this process's resident memory that V8's statistics do not show, from /proc/self/smaps: the
 * C heap's main arena (the mapping named [heap]) and the pages mapped from files.
 */
export function residentBreakdown(): { mallocArenaBytes: number; fileBackedBytes: number } {
  let mallocArenaKb = 0;
  let residentKb = 0;
  let anonymousKb = 0;
  let inArena = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inArena = line.endsWith(' [heap]');
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB$/.exec(line);
    if (!field) continue;
    const kb = Number(field[2]);
    if (field[1] === 'Anonymous') anonymousKb += kb;
    else {
      residentKb += kb;
      if (inArena) mallocArenaKb += kb;
    }
  }
  return { mallocArenaBytes: mallocArenaKb * 1024, fileBackedBytes: (residentKb - anonymousKb) * 1024 };
}
