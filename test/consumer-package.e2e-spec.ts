import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What a user gets from npm: `npm run package` builds the tarball, which is installed (offline, from the npm
 * cache that `npm ci` filled) with `npm install <tarball>` into two fresh Nest apps, an ESM one and a CommonJS one (`module: nodenext`,
 * no `"type"`). Each is type-checked and compiled by tsc, then runs test/consumer/*.consumer-spec.ts (3-node
 * clusters of imdgo/testing) with node:test, on this Node and on the oldest Node that `engines` allows.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATES = join(ROOT, 'test/consumer');
const OLDEST_NODE = process.env.IMDGO_OLDEST_NODE ?? '/usr/bin/node';
const STEP_TIMEOUT_MS = 120_000;
const execFileAsync = promisify(execFile);
/** Offline from the cache that `npm ci` filled, since every version is the lockfile's. */
const NPM_INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

interface ConsumerApp {
  readonly dir: string;
  readonly specs: readonly string[];
}

/** Runs a command with a bounded time; a failure carries its output. */
async function run(file: string, args: readonly string[], cwd: string): Promise<string> {
  // The variables of the enclosing `npm test` (npm_config_local_prefix among them) would steer a nested npm.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
  try {
    const { stdout } = await execFileAsync(file, args, {
      cwd,
      env,
      timeout: STEP_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`, { cause: error });
  }
}

/** The version the repository's lockfile installed, so that npm finds it in the cache. */
function lockedVersion(name: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

/** A fresh Nest app of `type` with its dependencies installed; imdgo comes later, as a user adds it. */
async function createApp(
  type: 'module' | 'commonjs',
  extraDependencies: readonly string[],
  specs: readonly string[],
): Promise<ConsumerApp> {
  const dir = mkdtempSync(join(tmpdir(), `imdgo-consumer-${type}-`));
  const names = [
    '@nestjs/common',
    '@nestjs/core',
    '@nestjs/microservices',
    '@nestjs/testing',
    'reflect-metadata',
    'rxjs',
    '@types/node',
    ...extraDependencies,
  ];
  const dependencies = Object.fromEntries(names.map((name) => [name, lockedVersion(name)]));
  const manifest = {
    name: `imdgo-consumer-${type}`,
    private: true,
    ...(type === 'module' && { type }),
    dependencies,
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      // What `nest new` generates, on module nodenext.
      compilerOptions: {
        target: 'es2023',
        module: 'nodenext',
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        skipLibCheck: true,
        types: ['node'],
        rootDir: 'src',
        outDir: 'dist',
      },
      include: ['src'],
    }),
  );
  mkdirSync(join(dir, 'src'));
  for (const file of ['key-log.service.ts', ...specs]) cpSync(join(TEMPLATES, file), join(dir, 'src', file));
  await run('npm', ['install', ...NPM_INSTALL_FLAGS], dir);
  return { dir, specs: specs.map((spec) => join('dist', spec.replace(/\.ts$/, '.js'))) };
}

async function installImdgo(app: ConsumerApp, tarball: string): Promise<void> {
  await run('npm', ['install', ...NPM_INSTALL_FLAGS, tarball], app.dir);
}

function typecheckAndCompile(app: ConsumerApp): Promise<string> {
  return run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], app.dir);
}

function runSpecs(app: ConsumerApp, node: string): Promise<string> {
  return run(node, ['--test', '--test-reporter=tap', ...app.specs], app.dir);
}

/** Starts the app's specs now; the returned promise is awaited by the test that asserts on it. */
function startSpecs(app: ConsumerApp, node: string): Promise<string> {
  const output = runSpecs(app, node);
  // Awaited later by its test; until then a rejection is not an unhandled one.
  output.catch(() => {});
  return output;
}

let tarball: string;
let esm: ConsumerApp;
let commonjs: ConsumerApp;
/** The spec runs of each app on each Node, all started together once both apps are built. */
let runs: Record<'esm' | 'commonjs' | 'esmOldest' | 'commonjsOldest', Promise<string>>;

beforeAll(async () => {
  let output: string;
  // The ESM app leaves out the optional peers: the main entry must run without them.
  [output, esm, commonjs] = await Promise.all([
    run(process.execPath, [join(ROOT, 'scripts/package.ts')], ROOT),
    createApp('module', [], ['replication.consumer-spec.ts']),
    createApp(
      'commonjs',
      ['@nestjs/terminus', 'prom-client'],
      ['replication.consumer-spec.ts', 'observability.consumer-spec.ts'],
    ),
  ]);
  tarball = output.trim().split('\n').at(-1)!;
  await Promise.all([installImdgo(esm, tarball), installImdgo(commonjs, tarball)]);
  await Promise.all([typecheckAndCompile(esm), typecheckAndCompile(commonjs)]);
  runs = {
    esm: startSpecs(esm, process.execPath),
    commonjs: startSpecs(commonjs, process.execPath),
    esmOldest: startSpecs(esm, OLDEST_NODE),
    commonjsOldest: startSpecs(commonjs, OLDEST_NODE),
  };
}, 4 * STEP_TIMEOUT_MS);

afterAll(async () => {
  if (runs) await Promise.allSettled(Object.values(runs));
  for (const app of [esm, commonjs]) if (app) rmSync(app.dir, { recursive: true, force: true });
});

describe('the imdgo package', () => {
  it('holds compiled JavaScript and declarations only, with a types condition on every entry', async () => {
    const files = (await run('tar', ['-tzf', tarball], ROOT)).trim().split('\n');
    const strays = files.filter(
      (file) => !/\.(js|d\.ts)$/.test(file) && !['package/package.json', 'package/README.md'].includes(file),
    );
    expect(strays).toEqual([]);
    expect(files).toContain('package/dist/src/index.js');
    const manifest = JSON.parse(readFileSync(join(ROOT, 'libs/imdgo/package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; default: string }>;
    };
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      expect(files, entry).toContain(`package/${target.types.slice(2)}`);
      expect(files, entry).toContain(`package/${target.default.slice(2)}`);
    }
  });

  it('brings none of the demo and no optional peer into an app that does not ask for them', () => {
    for (const name of ['@nestjs/terminus', 'prom-client', '@nestjs/swagger', '@nestjs/platform-express']) {
      expect(existsSync(join(esm.dir, 'node_modules', name)), name).toBe(false);
    }
  });

  it('runs a 3-node e2e spec in an ESM app on this Node', async () => {
    expect(await runs.esm).toMatch(/^# pass 1$/m);
  });

  it('runs the e2e specs, with imdgo/terminus and imdgo/metrics, in a CommonJS app on this Node', async () => {
    expect(await runs.commonjs).toMatch(/^# pass 2$/m);
  });

  it('runs in both apps on the oldest Node that engines allows', async () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, 'libs/imdgo/package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const oldest = /^>=(\d+\.\d+\.\d+)$/.exec(engines.node)?.[1];
    expect(oldest, `engines.node ${engines.node}`).toBeDefined();
    expect(existsSync(OLDEST_NODE), `Node ${oldest} at ${OLDEST_NODE} (set IMDGO_OLDEST_NODE)`).toBe(true);
    const version = (await run(OLDEST_NODE, ['--version'], ROOT)).trim();
    expect(version, `${OLDEST_NODE} must be the Node of engines' lower bound (else change engines)`).toBe(
      `v${oldest}`,
    );
    expect(await runs.esmOldest).toMatch(/^# pass 1$/m);
    expect(await runs.commonjsOldest).toMatch(/^# pass 2$/m);
  });
});
