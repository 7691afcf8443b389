import type {
  AwsWebIdentityTokenOptions,
  WebIdentityToken,
  WebIdentityTokenProvider,
} from './aws-web-identity-token.js';
import { fromAwsWebIdentityToken } from './aws-web-identity-token.js';
import { KeylessError, type KeylessProvider } from './errors.js';
import type { Logger } from './logger.js';
import type { TokenRequestOptions } from './token-cache.js';
import { checkFunction, invalidConfig } from './validate.js';

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
  /** Completes "aws.audience is required: …" when there is no default audience. */
  audienceHelp?: string;
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
    return async (request?: TokenRequestOptions) => checkToken(provider, await source(request));
  }
  const aws = options.aws ?? {};
  if (typeof aws !== 'object' || aws === null || Array.isArray(aws)) {
    throw invalidConfig(provider, 'aws must be an object of fromAwsWebIdentityToken options');
  }
  const audience = aws.audience ?? defaults.audience;
  if (audience === undefined) {
    throw invalidConfig(
      provider,
      `aws.audience is required${defaults.audienceHelp ? `: ${defaults.audienceHelp}` : ''}`,
      'Set aws.audience to the exact audience the receiving side trusts (or pass webIdentityToken).',
    );
  }
  const logger = aws.logger ?? defaults.logger;
  return fromAwsWebIdentityToken({
    ...(defaults.signingAlgorithm === undefined ? {} : { signingAlgorithm: defaults.signingAlgorithm }),
    ...(defaults.durationSeconds === undefined ? {} : { durationSeconds: defaults.durationSeconds }),
    ...aws,
    audience,
    ...(logger ? { logger } : {}),
  });
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
