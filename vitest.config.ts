import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // The package's entries, from source (the exports of package.json point the build at dist/).
    alias: [
      { find: /^imdgo$/, replacement: source('./libs/imdgo/src/index.ts') },
      { find: /^imdgo\/(terminus|metrics)$/, replacement: source('./libs/imdgo/src/$1.ts') },
      { find: /^imdgo\/testing$/, replacement: source('./libs/imdgo/testing/index.ts') },
    ],
  },
  test: {
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.e2e-spec.ts', 'bench/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
