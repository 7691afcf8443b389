export { connectSnowflake } from './connect-snowflake.js';
export { createSnowflakePool, type SnowflakePoolOptions } from './create-snowflake-pool.js';
export { PLATFORM_DETECTION_ENV, type SnowflakeSdk } from './load-snowflake-sdk.js';
export {
  CONFLICTING_OPTIONS,
  SNOWFLAKE_SIGNING_ALGORITHM,
  type SnowflakeConnectionOptions,
  type SnowflakeKeylessOptions,
  snowflakeConnectionOptions,
  WORKLOAD_IDENTITY_AUTHENTICATOR,
} from './snowflake-connection-options.js';
export { SNOWFLAKE_AUDIENCE, type SnowflakeWorkloadIdentityProvider } from './snowflake-errors.js';
export { ALLOWED_HOST_SUFFIXES_ENV, SNOWFLAKE_DOMAINS } from './snowflake-host.js';
