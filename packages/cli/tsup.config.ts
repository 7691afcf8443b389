import { packageConfig } from '../../tsup.config.base.js';

// The library (index) ships ESM + CJS; the `keyless` binary is ESM only.
export default [packageConfig(), packageConfig({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false })];
