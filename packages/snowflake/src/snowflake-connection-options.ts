import {
  type AwsWebIdentityTokenOptions,
  checkNumber,
  checkOneOf,
  checkString,
  createLogger,
  env,
  formatTokenSummary,
  invalidConfig,
  type Logger,
  resolveWebIdentityToken,
  summarizeToken,
  type WebIdentityToken,
  type WebIdentityTokenProvider,
} from '@keyless/core';
import type { ConnectionOptions } from 'snowflake-sdk';
import type { SnowflakeSdk } from './load-snowflake-sdk.js';
import {
  SNOWFLAKE_AUDIENCE,
  type SnowflakeLoginContext,
  type SnowflakeWorkloadIdentityProvider,
} from './snowflake-errors.js';
import { checkSnowflakeHost } from './snowflake-host.js';

/**
 * What snowflake-sdk's own AWS outbound-token path asks STS for (snowflake-sdk 3.3.0
 * `authentication/auth_workload_identity/attestation_aws.js`: audience `snowflakecomputing.com`,
 * `SigningAlgorithm: 'ES384'`), so a Snowflake deployment that accepts one accepts the other.
 */
export const SNOWFLAKE_SIGNING_ALGORITHM = 'ES384';
/** Snowflake's authenticator for workload identity federation (snowflake-sdk `authentication_types`). */
export const WORKLOAD_IDENTITY_AUTHENTICATOR = 'WORKLOAD_IDENTITY';
export const WORKLOAD_IDENTITY_PROVIDERS = ['OIDC', 'AWS'] as const;

/**
 * A token used for a login must outlive the login, and snowflake-sdk retries a failed login request
 * with the same token (up to `sfRetryMaxLoginRetries`, 7 by default, with back-off). Core's cache
 * only promises 10 s.
 */
const DEFAULT_MIN_TOKEN_VALIDITY_SECONDS = 60;
const MAX_MIN_TOKEN_VALIDITY_SECONDS = 3000;

/**
 * snowflake-sdk options that carry another credential or pick another authentication path: with
 * keyless the workload identity is the credential, so passing one of these is a mistake.
 */
export const CONFLICTING_OPTIONS = [
  'token',
  'tokenFilePath',
  'password',
  'passcode',
  'passcodeInPassword',
  'privateKey',
  'privateKeyPath',
  'privateKeyPass',
  'oauthClientId',
  'oauthClientSecret',
  'oauthAuthorizationUrl',
  'oauthTokenRequestUrl',
  'oauthScope',
  'oauthRedirectUri',
  'oauthChallengeMethod',
  'oauthEnableSingleUseRefreshTokens',
  'sessionToken',
  'masterToken',
  'workloadIdentityProvider',
  'workloadIdentityAwsUseOutboundToken',
  'workloadIdentityAzureClientId',
  'workloadIdentityAzureEntraIdResource',
] as const;
type ConflictingOption = (typeof CONFLICTING_OPTIONS)[number];

/** Options keyless reads; everything else is handed to snowflake-sdk as it is. */
export interface SnowflakeKeylessOptions {
  /** The account identifier, e.g. `myorg-myaccount` (not the host). Required. */
  account: string;
  /** LOGIN_NAME of the service user. Optional: Snowflake finds the user by its workload identity. */
  username?: string;
  /**
   * `OIDC` (default): keyless mints the AWS JWT and sends it as `token`, for a user with
   * `WORKLOAD_IDENTITY = (TYPE = OIDC ISSUER = … SUBJECT = …)`. `AWS`: snowflake-sdk mints it itself
   * (`workloadIdentityAwsUseOutboundToken`), for a user with `TYPE = AWS ARN = … ISSUER = …`.
   */
  provider?: SnowflakeWorkloadIdentityProvider;
  /**
   * Options of the AWS JWT provider keyless creates (OIDC only). `audience` defaults to
   * `snowflakecomputing.com`, `signingAlgorithm` to `ES384`.
   */
  aws?: Partial<AwsWebIdentityTokenOptions>;
  /** A web identity token provider you already have (OIDC only), instead of `aws`. */
  webIdentityToken?: WebIdentityTokenProvider;
  /** A token with less left than this is refreshed before a login. Default 60 s. (OIDC only.) */
  minTokenValiditySeconds?: number;
  /** Default: silent. Lines never contain a token. */
  logger?: Partial<Logger>;
  /** The snowflake-sdk module to use (one you configured yourself). Default: loaded on first connection. */
  snowflake?: SnowflakeSdk;
}

/**
 * `snowflakeConnectionOptions`, `connectSnowflake` and `createSnowflakePool` options: the keyless
 * options plus any snowflake-sdk connection option except the ones that carry another credential.
 */
export type SnowflakeConnectionOptions = SnowflakeKeylessOptions &
  Omit<ConnectionOptions, ConflictingOption | 'account' | 'username' | 'authenticator'> & {
    /** Always `WORKLOAD_IDENTITY`; may be left out. */
    authenticator?: typeof WORKLOAD_IDENTITY_AUTHENTICATOR;
  } & { [K in ConflictingOption]?: never };

const KEYLESS_KEYS = [
  'provider',
  'aws',
  'webIdentityToken',
  'minTokenValiditySeconds',
  'logger',
  'snowflake',
] as const satisfies readonly (keyof SnowflakeKeylessOptions)[];

/** Connection options with a fresh token, and what keyless knows about the login for its errors. */
export interface ResolvedConnectionOptions {
  connectionOptions: ConnectionOptions;
  context: SnowflakeLoginContext;
}

export type ConnectionOptionsResolver = (request?: { signal?: AbortSignal }) => Promise<ResolvedConnectionOptions>;

/**
 * Checks the options (throws `INVALID_CONFIG` before any I/O) and returns a function that builds a
 * new snowflake-sdk options object, with a fresh token for OIDC, each time it is called. One
 * resolver shares one JWT provider, so its cache serves every connection.
 */
export function createConnectionOptionsResolver(options: SnowflakeConnectionOptions): ConnectionOptionsResolver {
  const checked = validate(options);
  const log = createLogger(options.logger, 'snowflake');
  const { provider, host, passthrough } = checked;
  const context: SnowflakeLoginContext = {
    provider,
    account: options.account,
    host,
    username: options.username,
    role: options.role,
    warehouse: options.warehouse,
    database: options.database,
    schema: options.schema,
  };

  if (provider === 'AWS') {
    if (env('AWS_REGION') === undefined) {
      log.warn(
        'provider AWS: snowflake-sdk takes the region from AWS_REGION only (else EC2 instance metadata), and AWS_REGION is not set',
      );
    }
    return async ({ signal } = {}) => {
      signal?.throwIfAborted();
      log.debug(`connection options for ${options.account} at ${host}: provider AWS (snowflake-sdk mints the token)`);
      return {
        connectionOptions: {
          ...passthrough,
          authenticator: WORKLOAD_IDENTITY_AUTHENTICATOR,
          workloadIdentityProvider: 'AWS',
          workloadIdentityAwsUseOutboundToken: true,
        },
        context: { ...context },
      };
    };
  }

  const getToken = resolveWebIdentityToken('snowflake', options, {
    audience: SNOWFLAKE_AUDIENCE,
    signingAlgorithm: SNOWFLAKE_SIGNING_ALGORITHM,
    logger: options.logger,
  });
  const minValidityMs = checked.minTokenValiditySeconds * 1000;

  const freshToken = async (signal: AbortSignal | undefined): Promise<WebIdentityToken> => {
    let token = await getToken(signal ? { signal } : {});
    if (token.expiresAt.getTime() - Date.now() < minValidityMs) {
      log.debug(`cached token has under ${checked.minTokenValiditySeconds} s left; fetching a new one for the login`);
      token = await getToken({ forceRefresh: true, ...(signal ? { signal } : {}) });
      const left = Math.round((token.expiresAt.getTime() - Date.now()) / 1000);
      if (left * 1000 < minValidityMs) {
        log.warn(
          `the new web identity token has only ${left} s left, under minTokenValiditySeconds (${checked.minTokenValiditySeconds}); using it anyway`,
        );
      }
    }
    return token;
  };

  return async ({ signal } = {}) => {
    signal?.throwIfAborted();
    const token = await freshToken(signal);
    const presented = summarizeToken(token.token);
    log.debug(
      `connection options for ${options.account} at ${host}: provider OIDC, token ${formatTokenSummary(presented)}, ${Math.round((token.expiresAt.getTime() - Date.now()) / 1000)} s left`,
    );
    return {
      connectionOptions: {
        ...passthrough,
        authenticator: WORKLOAD_IDENTITY_AUTHENTICATOR,
        workloadIdentityProvider: 'OIDC',
        token: token.token,
      },
      context: { ...context, presented },
    };
  };
}

/**
 * snowflake-sdk `ConnectionOptions` for a WORKLOAD_IDENTITY login, without loading snowflake-sdk.
 * With provider `OIDC` (the default) the options carry a fresh AWS JWT as `token`: snowflake-sdk
 * reads it once, when the connection is created, so build new options for every connection (or use
 * `connectSnowflake` / `createSnowflakePool`, which do).
 */
export async function snowflakeConnectionOptions(
  options: SnowflakeConnectionOptions,
  request: { signal?: AbortSignal } = {},
): Promise<ConnectionOptions> {
  const { connectionOptions } = await createConnectionOptionsResolver(options)(request);
  return connectionOptions;
}

interface Checked {
  provider: SnowflakeWorkloadIdentityProvider;
  host: string;
  minTokenValiditySeconds: number;
  passthrough: ConnectionOptions;
}

function validate(options: SnowflakeConnectionOptions): Checked {
  if (typeof options !== 'object' || options === null) throw invalidConfig('snowflake', 'options must be an object');
  const record = options as unknown as Record<string, unknown>;
  checkString('snowflake', 'account', options.account);
  const provider = checkOneOf('snowflake', 'provider', options.provider ?? 'OIDC', WORKLOAD_IDENTITY_PROVIDERS);

  const conflicting = CONFLICTING_OPTIONS.filter((key) => record[key] !== undefined && record[key] !== null);
  if (conflicting.length > 0) {
    throw invalidConfig(
      'snowflake',
      `${conflicting.join(', ')} cannot be combined with keyless: the workload identity is the credential`,
      conflicting.includes('workloadIdentityProvider') || conflicting.includes('workloadIdentityAwsUseOutboundToken')
        ? "Use keyless's provider option ('OIDC' or 'AWS') to pick the workload identity path, and remove the snowflake-sdk credential options."
        : 'Remove the other credential options; the Snowflake user logs in by its WORKLOAD_IDENTITY.',
    );
  }
  if (options.authenticator !== undefined) {
    const authenticator: unknown = options.authenticator;
    if (typeof authenticator !== 'string' || authenticator.toUpperCase() !== WORKLOAD_IDENTITY_AUTHENTICATOR) {
      throw invalidConfig(
        'snowflake',
        `authenticator must be WORKLOAD_IDENTITY (or left out), got ${JSON.stringify(authenticator)}`,
        'keyless always logs in with WORKLOAD_IDENTITY; for other authenticators use snowflake-sdk directly.',
      );
    }
  }
  if (options.username !== undefined) checkString('snowflake', 'username', options.username);
  if (options.host !== undefined) checkString('snowflake', 'host', options.host);
  if (options.accessUrl !== undefined) checkString('snowflake', 'accessUrl', options.accessUrl);
  if (options.region !== undefined) checkString('snowflake', 'region', options.region, { min: 0 });
  if (options.snowflake !== undefined) {
    const sdk = options.snowflake as unknown as { createConnection?: unknown } | null;
    if (typeof sdk !== 'object' || sdk === null || typeof sdk.createConnection !== 'function') {
      throw invalidConfig(
        'snowflake',
        'snowflake must be the snowflake-sdk module (import snowflake from "snowflake-sdk")',
      );
    }
  }
  if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
    throw invalidConfig(
      'snowflake',
      'logger must be an object with debug, info, warn and error methods (console works)',
    );
  }

  const keylessToken = (['aws', 'webIdentityToken', 'minTokenValiditySeconds'] as const).filter(
    (key) => options[key] !== undefined,
  );
  let minTokenValiditySeconds = DEFAULT_MIN_TOKEN_VALIDITY_SECONDS;
  if (provider === 'AWS') {
    if (keylessToken.length > 0) {
      throw invalidConfig(
        'snowflake',
        `${keylessToken.join(', ')} cannot be used with provider 'AWS': snowflake-sdk mints that token itself`,
        "Use provider 'OIDC' (the default) to let keyless mint the token with your aws options, or remove them.",
      );
    }
  } else {
    const duration = options.aws?.durationSeconds;
    if (options.minTokenValiditySeconds !== undefined) {
      minTokenValiditySeconds = checkNumber(
        'snowflake',
        'minTokenValiditySeconds',
        options.minTokenValiditySeconds,
        0,
        MAX_MIN_TOKEN_VALIDITY_SECONDS,
      );
      if (typeof duration === 'number' && minTokenValiditySeconds >= duration) {
        throw invalidConfig(
          'snowflake',
          `minTokenValiditySeconds (${minTokenValiditySeconds}) must be below aws.durationSeconds (${duration}): no token would be fresh enough`,
        );
      }
    } else if (typeof duration === 'number') {
      // A short-lived token must not be refreshed for every login.
      minTokenValiditySeconds = Math.min(DEFAULT_MIN_TOKEN_VALIDITY_SECONDS, Math.floor(duration / 2));
    }
    if (options.workloadIdentityImpersonationPath !== undefined) {
      throw invalidConfig(
        'snowflake',
        "workloadIdentityImpersonationPath only works with provider 'AWS' (snowflake-sdk refuses it for OIDC)",
        'With provider OIDC, pass the credentials of the role to act as in aws.credentials (e.g. fromTemporaryCredentials of @aws-sdk/credential-providers).',
      );
    }
  }

  const host = checkSnowflakeHost({
    account: options.account,
    host: options.host,
    accessUrl: options.accessUrl,
    region: options.region,
  });

  const passthrough: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!(KEYLESS_KEYS as readonly string[]).includes(key)) passthrough[key] = value;
  }
  return { provider, host, minTokenValiditySeconds, passthrough: passthrough as ConnectionOptions };
}
