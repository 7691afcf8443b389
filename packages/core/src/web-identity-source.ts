import type {
  AwsWebIdentityTokenOptions,
  SigningAlgorithm,
  WebIdentityToken,
  WebIdentityTokenProvider,
} from './aws-web-identity-token.js';
import { fromAwsWebIdentityToken } from './aws-web-identity-token.js';
import { isKeylessError, KeylessError, type KeylessProvider } from './errors.js';
import type { Logger } from './logger.js';
import type { RetryOptions, TokenRequestOptions } from './token-cache.js';
import { checkFunction, invalidConfig, showValue } from './validate.js';

/** Where an adapter gets the AWS JWT: options for a provider it creates, or a provider you already have. */
export interface WebIdentityOptions {
  /**
   * Options of the `fromAwsWebIdentityToken` provider the adapter creates. `audience` defaults to what
   * the target expects, where there is such a default.
   */
  aws?: Partial<AwsWebIdentityTokenOptions>;
  /** A provider you already have (shared between adapters), instead of `aws`. */
  webIdentityToken?: WebIdentityTokenProvider;
}

export interface WebIdentityDefaults {
  /** Used when `aws.audience` is not given; without it, `aws.audience` is required. */
  audience?: string;
  /** Default `aws.signingAlgorithm` for this target. */
  signingAlgorithm?: AwsWebIdentityTokenOptions['signingAlgorithm'];
  /** Default `aws.durationSeconds` for this target (the core default is 300). */
  durationSeconds?: number;
  /**
   * Default `aws.retry`: an adapter whose own cache retries a failed STS call passes `false`, so that
   * attempts do not multiply across two layers.
   */
  retry?: RetryOptions | false;
  /** Completes "aws.audience is required: …" when there is no default audience. */
  audienceHelp?: string;
  /** Algorithms the target accepts; another `aws.signingAlgorithm` is `INVALID_CONFIG`. */
  allowedAlgorithms?: readonly SigningAlgorithm[];
  /** Why only `allowedAlgorithms` (completes the error message). */
  algorithmHelp?: string;
  logger?: Partial<Logger> | undefined;
}

/**
 * The AWS JWT source of an adapter, checked now (before any I/O): `aws` and `webIdentityToken` are
 * exclusive, and the audience must be known. What a user's own provider returns is checked on each
 * call, since a broken provider would otherwise surface as a confusing rejection by the target.
 */
export function resolveWebIdentityToken(
  provider: KeylessProvider,
  options: WebIdentityOptions,
  defaults: WebIdentityDefaults = {},
): WebIdentityTokenProvider {
  if (options.aws !== undefined && options.webIdentityToken !== undefined) {
    throw invalidConfig(
      provider,
      'Pass either aws or webIdentityToken, not both',
      'aws configures a new AWS JWT provider; webIdentityToken reuses one you already have.',
    );
  }
  if (options.webIdentityToken !== undefined) {
    const source = checkFunction<WebIdentityTokenProvider>(provider, 'webIdentityToken', options.webIdentityToken);
    return async (request?: TokenRequestOptions) => checkToken(provider, await callUserProvider(source, request));
  }
  if (
    options.aws !== undefined &&
    (typeof options.aws !== 'object' || options.aws === null || Array.isArray(options.aws))
  ) {
    throw invalidConfig(provider, 'aws must be an object of fromAwsWebIdentityToken options');
  }
  // `{ audience: undefined }` must not erase a target default.
  const aws = Object.fromEntries(
    Object.entries(options.aws ?? {}).filter(([, value]) => value !== undefined),
  ) as Partial<AwsWebIdentityTokenOptions>;
  const audience = aws.audience ?? defaults.audience;
  if (audience === undefined) {
    throw invalidConfig(
      provider,
      `aws.audience is required${defaults.audienceHelp ? `: ${defaults.audienceHelp}` : ''}`,
      'Set aws.audience to the exact audience the receiving side trusts (or pass webIdentityToken).',
    );
  }
  const algorithm = aws.signingAlgorithm ?? defaults.signingAlgorithm;
  if (algorithm !== undefined && defaults.allowedAlgorithms && !defaults.allowedAlgorithms.includes(algorithm)) {
    throw invalidConfig(
      provider,
      `aws.signingAlgorithm must be ${defaults.allowedAlgorithms.join(' or ')}${defaults.algorithmHelp ? ` (${defaults.algorithmHelp})` : ''}, got ${showValue(algorithm)}`,
    );
  }
  const logger = aws.logger ?? defaults.logger;
  try {
    return fromAwsWebIdentityToken({
      ...(defaults.signingAlgorithm === undefined ? {} : { signingAlgorithm: defaults.signingAlgorithm }),
      ...(defaults.durationSeconds === undefined ? {} : { durationSeconds: defaults.durationSeconds }),
      ...(defaults.retry === undefined ? {} : { retry: defaults.retry }),
      ...aws,
      audience,
      ...(logger ? { logger } : {}),
    });
  } catch (error) {
    throw underAws(error);
  }
}

// The option names fromAwsWebIdentityToken's messages start with.
const AWS_OPTION_NAME =
  /^(audience|signingAlgorithm|durationSeconds|tags|region|endpoint|client|credentials|refreshBeforeExpirySeconds|requestTimeoutMs|retry)\b/;

/** Names the option as the adapter's user wrote it: `aws.durationSeconds`, not `durationSeconds`. */
function underAws(error: unknown): unknown {
  if (!isKeylessError(error) || error.code !== 'INVALID_CONFIG' || !AWS_OPTION_NAME.test(error.message)) return error;
  return invalidConfig(error.provider, `aws.${error.message}`, error.hint);
}

/** A failure of the user's own provider that is not a `KeylessError` is wrapped (and scrubbed). */
async function callUserProvider(
  source: WebIdentityTokenProvider,
  request: TokenRequestOptions | undefined,
): Promise<WebIdentityToken> {
  try {
    return await source(request);
  } catch (error) {
    if (isKeylessError(error) || (error instanceof Error && error.name === 'AbortError')) throw error;
    throw new KeylessError({
      code: 'EXCHANGE_FAILED',
      provider: 'aws',
      message: `The webIdentityToken provider failed: ${error instanceof Error ? error.message : String(error)}`,
      hint: 'webIdentityToken is your function: it must resolve to { token, expiresAt, claims }, e.g. from fromAwsWebIdentityToken().',
      cause: error,
    });
  }
}

function checkToken(provider: KeylessProvider, value: WebIdentityToken): WebIdentityToken {
  const ok =
    typeof value === 'object' &&
    value !== null &&
    typeof value.token === 'string' &&
    value.token.length > 0 &&
    value.expiresAt instanceof Date &&
    !Number.isNaN(value.expiresAt.getTime());
  if (!ok) {
    throw new KeylessError({
      code: 'INVALID_CONFIG',
      provider,
      message: 'webIdentityToken returned something other than { token, expiresAt, claims }.',
      hint: 'Pass a provider made by fromAwsWebIdentityToken, or one that resolves to { token: string, expiresAt: Date }.',
    });
  }
  return value;
}
