import { spawnSync } from 'node:child_process';

/**
 * The path of `binary`, installing Debian's `pkg` with apt-get when it is missing (the list is refreshed
 * once if the package is not found).
 */
export function ensureInstalled(binary: string, pkg: string): string {
  const existing = which(binary);
  if (existing) return existing;
  console.log(`${binary} is not installed: apt-get install -y ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'inherit', env }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    if (install() !== 0) throw new Error(`apt-get could not install ${pkg}`);
  }
  const installed = which(binary);
  if (!installed) throw new Error(`${pkg} is installed but ${binary} is not on the PATH`);
  return installed;
}

function which(binary: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}
