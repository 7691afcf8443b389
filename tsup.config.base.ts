import { defineConfig, type Options } from 'tsup';

/**
 * Every package builds the same way: ESM + CJS with declarations for Node 22+. `__KEYLESS_CJS__` lets
 * lazy loaders pick `require` in the CommonJS build (so users get the same copy of a vendor SDK as
 * their own `require` does) and `import()` in the ESM build.
 */
export function packageConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'node',
    esbuildOptions(options, context) {
      options.define = { ...options.define, __KEYLESS_CJS__: context.format === 'cjs' ? 'true' : 'false' };
    },
    ...overrides,
  });
}
