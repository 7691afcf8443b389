import { packageConfig } from '../../tsup.config.base.js';

// `shims` gives the CommonJS build an `import.meta.url` (google-auth-library.ts resolves the peer
// dependency from this file's location; the CJS build uses its own `require` and never reads it).
export default packageConfig({ shims: true });
