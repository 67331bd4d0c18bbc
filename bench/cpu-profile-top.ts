/**
 * `node bench/cpu-profile-top.ts FILE.cpuprofile [N]`: the N functions (default 25) with the most self
 * time in a V8 CPU profile (as written by `npm run bench -- --cpu-prof DIR`), then self time by area:
 * imdgo's directories, each npm package, Node's internals, GC and idle.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpu-profile-top.ts FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
let totalUs = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  const frame = byId.get(id)!.callFrame;
  const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
  const name = `${frame.functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byArea.set(area(frame), (byArea.get(area(frame)) ?? 0) + us);
  totalUs += us;
});

const line = (us: number, label: string) =>
  `${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${label}`;
console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s sampled\n\nself time by function`);
for (const [name, us] of top(byFunction, Number(topArg ?? 25))) console.log(line(us, name));
console.log('\nself time by area');
for (const [name, us] of top(byArea, 20)) console.log(line(us, name));

function top(totals: Map<string, number>, n: number): [string, number][] {
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, n);
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const libs = url.indexOf('/libs/');
  return libs >= 0 ? url.slice(libs + 1) : url.replace(/^file:\/\//, '');
}

function area(frame: ProfileNode['callFrame']): string {
  const url = frame.url;
  if (!url) return frame.functionName; // (garbage collector), (program), (idle), (root)
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const src = /\/libs\/imdgo\/src\/([^/]+)\//.exec(url);
  if (src) return `imdgo ${src[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return shortUrl(url).split('/').slice(0, 2).join('/');
}
