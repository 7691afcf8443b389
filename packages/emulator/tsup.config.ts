import { packageConfig } from '../../tsup.config.base.js';

// A second entry for the `keyless-emulator` command.
export default packageConfig({ entry: ['src/index.ts', 'src/bin.ts'] });
