import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const packages = readdirSync(new URL('./packages', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

// Tests run against the TypeScript sources of every workspace package, not their builds.
const alias = Object.fromEntries(
  packages.map((name) => [name === 'cli' ? 'keyless' : `@keyless/${name}`, `${root}packages/${name}/src/index.ts`]),
);

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: { name, include: [`packages/${name}/{src,test}/**/*.test.ts`] },
      })),
      { extends: true as const, test: { name: 'e2e', include: ['test/**/*.test.ts'] } },
    ],
    setupFiles: [`${root}test/setup/network.ts`, `${root}test/setup/leak-check.ts`],
    restoreMocks: true,
    unstubEnvs: true,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
  resolve: { alias },
});
