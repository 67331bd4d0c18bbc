/**
 * Builds the `imdgo` npm package from libs/imdgo (compiled ESM and .d.ts in libs/imdgo/dist) and packs it
 * into dist/package/. Prints the tarball's absolute path as its last line: `npm run package`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE_DIR = `${ROOT}libs/imdgo`;
const DESTINATION = `${ROOT}dist/package`;

// A stale file from a removed source would otherwise ship.
rmSync(`${PACKAGE_DIR}/dist`, { recursive: true, force: true });
execFileSync(`${ROOT}node_modules/.bin/tsc`, ['-p', `${PACKAGE_DIR}/tsconfig.package.json`], {
  stdio: 'inherit',
});
mkdirSync(DESTINATION, { recursive: true });
const [packed] = JSON.parse(
  execFileSync('npm', ['pack', PACKAGE_DIR, '--json', '--pack-destination', DESTINATION], {
    encoding: 'utf8',
  }),
) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
console.log(
  `${packed!.entryCount} files, ${(packed!.size / 1000).toFixed(1)} kB packed, ` +
    `${(packed!.unpackedSize / 1000).toFixed(1)} kB unpacked`,
);
console.log(`${DESTINATION}/${packed!.filename}`);
