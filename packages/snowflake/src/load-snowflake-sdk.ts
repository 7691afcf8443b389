import { createLogger, env, type Logger } from '@keyless/core';

declare const __KEYLESS_CJS__: boolean | undefined;

const isCjsBuild = typeof __KEYLESS_CJS__ !== 'undefined' && __KEYLESS_CJS__;

/**
 * The part of the snowflake-sdk module keyless uses: what `require('snowflake-sdk')` and
 * `import snowflake from 'snowflake-sdk'` give (and the namespace object, in TypeScript's view).
 */
export type SnowflakeSdk = Pick<typeof import('snowflake-sdk'), 'createConnection'>;

/**
 * snowflake-sdk 3.3.0 starts cloud-platform detection when it is loaded
 * (`lib/telemetry/platform_detection.js`): EC2 and Azure IMDS, GCE metadata and an STS
 * GetCallerIdentity with the default credentials, unless this variable is `true`.
 */
export const PLATFORM_DETECTION_ENV = 'SNOWFLAKE_DISABLE_PLATFORM_DETECTION';

let loading: Promise<SnowflakeSdk> | undefined;

/**
 * Loads snowflake-sdk on first use: it takes about 0.6 s and 700+ modules, so importing
 * `@keyless/snowflake` stays cheap. The CommonJS build requires the CommonJS copy (the one a user's own
 * `require('snowflake-sdk')` gets, with the same `configure()` settings); the ESM build imports it.
 */
export function loadSnowflakeSdk(logger?: Partial<Logger>): Promise<SnowflakeSdk> {
  loading ??= load(createLogger(logger, 'snowflake')).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function load(log: Logger): Promise<SnowflakeSdk> {
  if (env(PLATFORM_DETECTION_ENV)?.toLowerCase() !== 'true') {
    // Not ours to change: the variable is read from the user's process environment at load time
    // and also governs the user's own use of snowflake-sdk.
    log.debug(
      `loading snowflake-sdk, whose platform detection probes instance metadata (169.254.169.254, metadata.google.internal) and calls STS GetCallerIdentity once per process; set ${PLATFORM_DETECTION_ENV}=true before the first connection to turn it off`,
    );
  } else {
    log.debug('loading snowflake-sdk');
  }
  const loaded = (isCjsBuild ? require('snowflake-sdk') : await import('snowflake-sdk')) as
    | SnowflakeSdk
    | { default: SnowflakeSdk };
  // The package is CommonJS (`module.exports = …`): import() puts the whole API on `default`.
  return 'default' in loaded && loaded.default ? loaded.default : (loaded as SnowflakeSdk);
}
