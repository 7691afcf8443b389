import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { mapStsError } from './aws-errors.js';
import { type AwsWebIdentityClaims, decodeAwsWebIdentityClaims, formatTokenSummary, summarizeToken } from './claims.js';
import { KeylessError } from './errors.js';
import { loadSts } from './lazy-modules.js';
import type { Logger } from './logger.js';
import { regionFromOptionOrEnv, resolveRegion } from './region.js';
import {
  type CachedTokenProvider,
  createTokenCache,
  type RetryOptions,
  type TokenRequestOptions,
} from './token-cache.js';
import { checkInteger, checkNumber, checkOneOf, checkString, checkUrl, invalidConfig, showValue } from './validate.js';

/** Algorithms STS `GetWebIdentityToken` can sign with. */
export const SIGNING_ALGORITHMS = ['RS256', 'ES384'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** STS's own default lifetime (GetWebIdentityToken API reference); keyless always sends it explicitly. */
export const DEFAULT_DURATION_SECONDS = 300;
const MIN_DURATION_SECONDS = 60;
const MAX_DURATION_SECONDS = 3600;
const MAX_AUDIENCES = 10;
const MAX_AUDIENCE_LENGTH = 1000;
const MAX_TAGS = 50;
// Tag shape shared with session tags (STS API reference, Tag).
const TAG_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface AwsWebIdentityTokenOptions {
  /** Becomes the token's `aud`: what the target expects (1–10 values). */
  audience: string | string[];
  /** Default `RS256`, which Entra ID, Google, Databricks and Vault document. */
  signingAlgorithm?: SigningAlgorithm;
  /** Token lifetime, 60..3600 s. Default 300. */
  durationSeconds?: number;
  /** Request tags: they appear in the token as `https://sts.amazonaws.com/`.`request_tags`. */
  tags?: Record<string, string>;
  /** Else `AWS_REGION`, `AWS_DEFAULT_REGION`, then the shared config profile. */
  region?: string;
  /** A custom STS endpoint (VPC endpoint, emulator). Else the regional endpoint of `region`. */
  endpoint?: string;
  /** Else the AWS SDK's default credential chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Bring your own client; then region, endpoint and credentials are the client's. */
  client?: STSClient;
  /** Refresh in the background once less than this is left. Default 300, capped at half the lifetime. */
  refreshBeforeExpirySeconds?: number;
  /** Time-out of one STS request. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Retries of throttling, network and 5xx failures (by keyless; the SDK's own retries are off). */
  retry?: RetryOptions | false;
  /** Default: silent. Lines carry `iss sub aud exp jti`, never the token. */
  logger?: Partial<Logger>;
}

export interface WebIdentityToken {
  /** The JWT. Treat it as a secret until it expires. */
  token: string;
  /** When the token expires, on this machine's clock (derived from the token's lifetime). */
  expiresAt: Date;
  /** The token's claims, decoded without verification. */
  claims: AwsWebIdentityClaims;
}

export type WebIdentityTokenProvider = (options?: TokenRequestOptions) => Promise<WebIdentityToken>;

interface ValidatedOptions {
  audience: string[];
  signingAlgorithm: SigningAlgorithm;
  durationSeconds: number;
  tags: { Key: string; Value: string }[] | undefined;
}

/** Checks every option of {@link fromAwsWebIdentityToken}; throws `INVALID_CONFIG` naming the option. */
export function validateAwsWebIdentityTokenOptions(options: AwsWebIdentityTokenOptions): ValidatedOptions {
  if (typeof options !== 'object' || options === null) throw invalidConfig('aws', 'options must be an object');
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audiences.length < 1 || audiences.length > MAX_AUDIENCES) {
    throw invalidConfig('aws', `audience must hold 1..${MAX_AUDIENCES} values, got ${audiences.length}`);
  }
  for (const [i, value] of audiences.entries()) {
    const name = Array.isArray(options.audience) ? `audience[${i}]` : 'audience';
    checkString('aws', name, value, { max: MAX_AUDIENCE_LENGTH });
  }
  const signingAlgorithm = checkOneOf(
    'aws',
    'signingAlgorithm',
    options.signingAlgorithm ?? 'RS256',
    SIGNING_ALGORITHMS,
  );
  const durationSeconds = checkInteger(
    'aws',
    'durationSeconds',
    options.durationSeconds ?? DEFAULT_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
    MAX_DURATION_SECONDS,
  );
  let tags: ValidatedOptions['tags'];
  if (options.tags !== undefined) {
    if (typeof options.tags !== 'object' || options.tags === null || Array.isArray(options.tags)) {
      throw invalidConfig('aws', 'tags must be an object of string keys and values');
    }
    const entries = Object.entries(options.tags);
    if (entries.length > MAX_TAGS)
      throw invalidConfig('aws', `tags must hold at most ${MAX_TAGS} entries, got ${entries.length}`);
    tags = entries.map(([key, value]) => {
      if (key.length < 1 || key.length > 128 || !TAG_PATTERN.test(key)) {
        throw invalidConfig(
          'aws',
          `tags key ${showValue(key)} must be 1..128 characters of letters, digits, spaces and _.:/=+-@`,
        );
      }
      if (typeof value !== 'string' || value.length > 256 || !TAG_PATTERN.test(value)) {
        throw invalidConfig(
          'aws',
          `tags.${key} must be a string of 0..256 characters of letters, digits, spaces and _.:/=+-@`,
        );
      }
      return { Key: key, Value: value };
    });
    if (tags.length === 0) tags = undefined;
  }
  if (options.client !== undefined) {
    const conflicting = (['region', 'endpoint', 'credentials'] as const).filter((k) => options[k] !== undefined);
    if (conflicting.length > 0) {
      throw invalidConfig(
        'aws',
        `client cannot be combined with ${conflicting.join(', ')}: configure them on the client`,
      );
    }
    if (typeof (options.client as { send?: unknown }).send !== 'function') {
      throw invalidConfig('aws', 'client must be an STSClient from @aws-sdk/client-sts');
    }
  }
  if (options.region !== undefined) checkString('aws', 'region', options.region);
  if (options.client === undefined) regionFromOptionOrEnv(options.region);
  if (options.endpoint !== undefined) checkUrl('aws', 'endpoint', options.endpoint);
  if (options.refreshBeforeExpirySeconds !== undefined) {
    checkNumber('aws', 'refreshBeforeExpirySeconds', options.refreshBeforeExpirySeconds, 0, MAX_DURATION_SECONDS);
  }
  if (options.requestTimeoutMs !== undefined)
    checkNumber('aws', 'requestTimeoutMs', options.requestTimeoutMs, 1, 600_000);
  return { audience: audiences, signingAlgorithm, durationSeconds, tags };
}

/**
 * A cached provider of the AWS-signed JWT of the calling principal (STS `GetWebIdentityToken`).
 * Options are checked now; the STS client is loaded and the region resolved on the first call.
 */
export function fromAwsWebIdentityToken(options: AwsWebIdentityTokenOptions): WebIdentityTokenProvider {
  const request = validateAwsWebIdentityTokenOptions(options);
  let client: Promise<STSClient> | undefined;

  const getClient = (): Promise<STSClient> => {
    client ??= createStsClient(options).catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };

  const fetchToken = async (): Promise<WebIdentityToken> => {
    const sts = await getClient();
    const { GetWebIdentityTokenCommand } = await loadSts();
    const started = Date.now();
    let output: { WebIdentityToken?: string | undefined; Expiration?: Date | undefined };
    try {
      output = await sts.send(
        new GetWebIdentityTokenCommand({
          Audience: request.audience,
          SigningAlgorithm: request.signingAlgorithm,
          DurationSeconds: request.durationSeconds,
          ...(request.tags ? { Tags: request.tags } : {}),
        }),
      );
    } catch (error) {
      throw mapStsError(error, request);
    }
    return toWebIdentityToken(output, started);
  };

  const cache: CachedTokenProvider<WebIdentityToken> = createTokenCache(fetchToken, {
    provider: 'aws',
    name: 'aws',
    ...(options.refreshBeforeExpirySeconds === undefined
      ? {}
      : { refreshBeforeExpirySeconds: options.refreshBeforeExpirySeconds }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.logger ? { logger: options.logger } : {}),
    describe: (token) => formatTokenSummary(summarizeToken(token.token)),
  });
  return (requestOptions) => cache(requestOptions);
}

async function createStsClient(options: AwsWebIdentityTokenOptions): Promise<STSClient> {
  const { STSClient } = await loadSts();
  if (options.client) {
    const region = await options.client.config.region();
    if (region === 'aws-global') {
      throw invalidConfig(
        'aws',
        'client is configured for the global STS endpoint (aws-global), where GetWebIdentityToken is not served',
      );
    }
    return options.client;
  }
  const { region } = await resolveRegion(options.region);
  return new STSClient({
    region,
    // The API is not served by the global endpoint, whatever AWS_STS_REGIONAL_ENDPOINTS says.
    useGlobalEndpoint: false,
    // keyless's token cache retries (with jitter, bounded); two retry layers would multiply attempts.
    maxAttempts: 1,
    // The socket time-out covers connecting too. (No separate connectionTimeout: it waits for a
    // socket `connect` event that HTTP mocks such as nock never emit.)
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}

function toWebIdentityToken(
  output: { WebIdentityToken?: string | undefined; Expiration?: Date | undefined },
  started: number,
): WebIdentityToken {
  const token = output.WebIdentityToken;
  if (typeof token !== 'string' || token.length === 0) {
    throw new KeylessError({
      code: 'INVALID_RESPONSE',
      provider: 'aws',
      message: 'STS answered GetWebIdentityToken without a WebIdentityToken.',
      retryable: true,
    });
  }
  const claims = decodeAwsWebIdentityClaims(token);
  // Measure the lifetime on the token (exp - iat) and count it from when the request left this
  // machine: a skewed local clock then cannot make a fresh token look expired, or the reverse.
  const lifetimeMs = (claims.exp - claims.iat) * 1000;
  let expiresAt = started + lifetimeMs;
  if (!(lifetimeMs > 0) && output.Expiration instanceof Date) expiresAt = output.Expiration.getTime();
  return { token, expiresAt: new Date(expiresAt), claims };
}
